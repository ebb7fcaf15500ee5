// Browser-like requests to the dashboard: a session cookie instead of a bearer
// token, form posts with an Origin, and text read out of the HTML with
// workerd's own HTMLRewriter, so tests assert on content, not on markup.
import { expect } from "vitest";
import { BASE, call, TOKENS } from "./helpers";

export const SESSION = "__Host-edge_tasks_session";

/** A client address of its own, so tests do not share the sign-in rate limit. */
// Each call gets an address of its own (test files start at random points of
// 10.0.0.0/8), so the sign-in limiter, per address and minute, never counts
// one test's attempts against another's.
let addresses = Math.floor(Math.random() * 2 ** 23);
export const someAddress = () => {
	const n = addresses++;
	return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
};

/** A GET as a browser sends it: no Authorization, the cookie if signed in. */
export function page(path: string, cookie?: string, env?: Env): Promise<Response> {
	const headers = { Authorization: "", ...(cookie ? { Cookie: cookie } : {}) };
	return call(path, { headers }, env);
}

/** A form post from a page of this origin unless told otherwise. */
export function submit(
	path: string,
	fields: Record<string, string>,
	options: { cookie?: string; origin?: string | null; address?: string } = {},
): Promise<Response> {
	const headers: Record<string, string> = {
		Authorization: "",
		"Content-Type": "application/x-www-form-urlencoded",
		"CF-Connecting-IP": options.address ?? someAddress(),
	};
	if (options.origin !== null) headers.Origin = options.origin ?? BASE;
	if (options.cookie) headers.Cookie = options.cookie;
	return call(path, { method: "POST", headers, body: new URLSearchParams(fields).toString() });
}

/** The session cookie a response sets, as a Cookie header value. */
export function cookieFrom(res: Response): string {
	const header = res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION}=`));
	if (!header) throw new Error("no session cookie was set");
	return header.split(";")[0] ?? "";
}

/** Signs in through the login form and returns the session cookie. */
export async function signIn(token: string = TOKENS.main): Promise<string> {
	const res = await submit("/dashboard/login", { token, next: "/dashboard" });
	expect(res.status).toBe(303);
	return cookieFrom(res);
}

/** The text of every element matching `selector`, a space between inner elements, whitespace folded. */
export async function texts(html: string, selector: string): Promise<string[]> {
	const found: string[] = [];
	let open = -1;
	await new HTMLRewriter()
		.on(selector, {
			element(element) {
				found.push("");
				open = found.length - 1;
				element.onEndTag(() => {
					open = -1;
				});
			},
			text(chunk) {
				if (open >= 0) found[open] += decode(chunk.text);
			},
		})
		.on(`${selector} *`, {
			element() {
				if (open >= 0) found[open] += " ";
			},
		})
		.transform(new Response(html))
		.text();
	return found.map((t) => t.replace(/\s+/g, " ").trim());
}

const entities: Record<string, string> = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'" };
/** HTMLRewriter hands over text and attributes as written, entities and all. */
const decode = (text: string) => text.replace(/&(?:amp|lt|gt|quot|#39);/g, (e) => entities[e] ?? e);

/** Values of `attribute` on every element matching `selector`. */
export async function attributes(html: string, selector: string, attribute: string): Promise<string[]> {
	const found: string[] = [];
	await new HTMLRewriter()
		.on(selector, {
			element(element) {
				found.push(decode(element.getAttribute(attribute) ?? ""));
			},
		})
		.transform(new Response(html))
		.text();
	return found;
}

/** An HTML page's body, after checking that it is one. */
export async function html(res: Response, status = 200): Promise<string> {
	expect(res.status).toBe(status);
	expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
	return res.text();
}
