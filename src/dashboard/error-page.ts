// Errors under /dashboard are pages for people: the same status, code and
// message the API would put in its JSON body, as HTML. The app's onError picks
// this by path.
import type { Context } from "hono";
import { html } from "hono/html";
import type { ErrorFacts } from "../http/errors";
import { layout } from "./layout";

export const isDashboardPath = (path: string) => path === "/dashboard" || path.startsWith("/dashboard/");

const titles: Partial<Record<number, string>> = {
	400: "That request was not valid",
	403: "Refused",
	404: "Not found",
	405: "Not allowed",
	409: "That cannot be done now",
	413: "Too large",
	429: "Too many requests",
	503: "Unavailable",
};

function problems(details: unknown): { path: string; message: string }[] {
	if (!Array.isArray(details)) return [];
	return details.flatMap((d) =>
		d && typeof d === "object" && "message" in d ? [{ path: String(d.path ?? ""), message: String(d.message) }] : [],
	);
}

export function renderErrorPage(c: Context, facts: ErrorFacts, headers?: Record<string, string>) {
	const title = titles[facts.status] ?? "Something went wrong";
	const list = problems(facts.details);
	const items = list.map((p) => html`<li>${p.path && html`<code>${p.path}</code>`} ${p.message}</li>`);
	const requestId = facts.requestId && html`, request id <code>${facts.requestId}</code>`;
	return c.html(
		layout(
			{ title },
			html`<h1>${title}</h1>
			<p class="alert" role="alert">${facts.message}</p>
			${list.length > 0 && html`<ul>${items}</ul>`}
			<p class="muted">Status ${facts.status} (${facts.code})${requestId}</p>
			<p><a href="/dashboard">Back to the overview</a></p>`,
		),
		facts.status,
		headers,
	);
}
