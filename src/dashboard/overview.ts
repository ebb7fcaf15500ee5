// The overview: what is waiting, running and failing, and how fast the queue
// drains. One D1 batch (src/tasks/stats.ts) plus the latest failures.
import { html } from "hono/html";
import { Hono } from "hono/tiny";
import * as z from "zod";
import { type Backlog, type Bucket, errorMessage, type Overview, RANGES, type Range, type TaskRow } from "../engine";
import { AppError } from "../errors";
import type { AppEnv } from "../http/app-env";

import { failureRate, failureRateChart, formatRate, throughputChart } from "./chart";
import { displayName, formatCount, formatDuration, stateBadge, timeElement } from "./format";
import { type Html, layout } from "./layout";
import { toolbar } from "./refresh";
import { numCell, tableHead } from "./table";

const periods: Record<Range, string> = { "1h": "last hour", "24h": "last 24 hours" };

const rangeSchema = z.enum(Object.keys(RANGES) as [Range, ...Range[]]);

const tasksHref = (query: Record<string, string>) => `/dashboard/tasks?${new URLSearchParams(query)}`;

const card = (label: string, value: string | Html) => html`<div class="card"><dt>${label}</dt><dd>${value}</dd></div>`;

function cards(data: Overview, backlog: Backlog | null) {
	const hourRate = failureRate({
		succeeded: data.states.find((s) => s.state === "SUCCESS")?.hour ?? 0,
		failed: data.states.find((s) => s.state === "FAILURE")?.hour ?? 0,
	});
	const ago = (date: Date) => formatDuration(data.now.getTime() - date.getTime());
	const oldestSent = backlog?.oldestSentAt && html`<small class="muted">oldest sent ${ago(backlog.oldestSentAt)} ago</small>`;
	const queued = html`${backlog ? formatCount(backlog.messages) : "unknown"}${oldestSent}`;
	const oldestDue = data.oldestDue
		? html`<a href="/dashboard/tasks/${data.oldestDue.id}">${ago(data.oldestDue.dueAt)}</a><small class="muted">${data.oldestDue.name}</small>`
		: "none";
	return html`<dl class="cards">
		${card("Waiting (PENDING)", formatCount(data.unfinished.PENDING))}
		${card("Running (STARTED)", formatCount(data.unfinished.STARTED))}
		${card("Waiting to retry (RETRY)", formatCount(data.unfinished.RETRY))}
		${card("On the queue", queued)}
		${card("Oldest due task waiting", oldestDue)}
		${card("Failure rate, last hour", formatRate(hourRate))}
	</dl>`;
}

const rangeLink = (range: Range, current: Range) =>
	html`<li><a href="/dashboard?range=${range}"${range === current && html` aria-current="true"`}>${periods[range].replace(/^l/, "L")}</a></li>`;

const bucketRow = (b: Bucket) => html`<tr>
	<td>${timeElement(b.start)}</td>
	${numCell(b.enqueued)}${numCell(b.succeeded)}${numCell(b.failed)}${numCell(formatRate(failureRate(b)))}
</tr>`;

function throughput(data: Overview) {
	const period = periods[data.range];
	const columns = ["From", ...["Enqueued", "Succeeded", "Failed", "Failure rate"].map((label) => ({ label, num: true }))];
	const busy = data.buckets.filter((b) => b.enqueued + b.succeeded + b.failed > 0);
	return html`<section aria-labelledby="throughput-heading">
		<h2 id="throughput-heading">Throughput and failures</h2>
		<ul class="ranges" aria-label="Chart range">
			${(Object.keys(RANGES) as Range[]).map((range) => rangeLink(range, data.range))}
		</ul>
		${throughputChart(data.buckets, period)}
		<ul class="legend">
			<li><span class="swatch ok"></span>Succeeded</li>
			<li><span class="swatch fail"></span>Failed</li>
			<li><span class="swatch queue"></span>Enqueued</li>
		</ul>
		${failureRateChart(data.buckets, period)}
		<details>
			<summary>The numbers behind the charts</summary>
			<div class="table-wrap">
				<table>
					${tableHead(columns)}
					<tbody>${busy.map(bucketRow)}</tbody>
				</table>
			</div>
		</details>
	</section>`;
}

function counts(data: Overview) {
	const byState = data.states.map(
		(row) => html`<tr>
			<th scope="row"><a href="${tasksHref({ status: row.state })}">${stateBadge(row.state)}</a></th>
			${numCell(row.hour)}${numCell(row.day)}
		</tr>`,
	);
	const byName = data.names.map(
		(row) => html`<tr>
			<th scope="row"><a href="${tasksHref({ name: row.name })}">${row.name}</a></th>
			${numCell(row.hour)}${numCell(row.failedHour)}${numCell(row.day, true)}${numCell(row.failedDay, true)}
		</tr>`,
	);
	const nameColumns = [
		"Task",
		...["Last hour", "Failed"].map((label) => ({ label, num: true })),
		...["Last 24 hours", "Failed"].map((label) => ({ label, num: true, wide: true })),
	];
	return html`<section aria-labelledby="counts-heading">
		<h2 id="counts-heading">Tasks created recently</h2>
		<div class="table-wrap">
			<table>
				<caption>By current state</caption>
				${tableHead(["State", { label: "Last hour", num: true }, { label: "Last 24 hours", num: true }])}
				<tbody>${byState}</tbody>
			</table>
		</div>
		<div class="table-wrap">
			<table>
				<caption>By task</caption>
				${tableHead(nameColumns)}
				<tbody>
					${data.names.length === 0 && html`<tr><td colspan="5">No tasks in the last 24 hours.</td></tr>`}
					${byName}
				</tbody>
			</table>
		</div>
	</section>`;
}

const failureRow = (task: TaskRow) => html`<tr>
	<td><a href="/dashboard/tasks/${task.id}">${displayName(task)}</a></td>
	<td class="error">${task.error}</td>
	<td class="hide-narrow">${timeElement(task.createdAt)}</td>
</tr>`;

function recentFailures(data: Overview) {
	const list =
		data.recentFailures.length === 0
			? html`<p>No failed tasks.</p>`
			: html`<div class="table-wrap">
				<table>
					${tableHead(["Task", "Error", { label: "Created", wide: true }])}
					<tbody>${data.recentFailures.map(failureRow)}</tbody>
				</table>
				<p><a href="${tasksHref({ status: "FAILURE" })}">All failed tasks</a></p>
			</div>`;
	return html`<section aria-labelledby="failures-heading">
		<h2 id="failures-heading">Recent failures</h2>
		${list}
	</section>`;
}

const waitingRow = (task: TaskRow) => html`<tr>
	<td><a href="/dashboard/tasks/${task.id}">${displayName(task)}</a></td>
	<td><code>${task.waiting}</code></td>
	<td>${timeElement((task.status === "RETRY" ? task.nextAttemptAt : task.dueAt) ?? task.updatedAt)}</td>
</tr>`;

function waitingOnLimits(data: Overview) {
	if (data.waiting.length === 0) return html``;
	return html`<section aria-labelledby="waiting-heading">
		<h2 id="waiting-heading">Waiting on a flow limit</h2>
		<div class="table-wrap">
			<table>
				${tableHead(["Task", "Held back by", "Asked again"])}
				<tbody>${data.waiting.map(waitingRow)}</tbody>
			</table>
		</div>
	</section>`;
}

export const overview = new Hono<AppEnv>();

overview.get("/", async (c) => {
	const parsed = rangeSchema.safeParse(c.req.query("range") ?? "1h");
	if (!parsed.success) {
		throw new AppError(400, "validation_error", "Unknown chart range", [{ path: "range", message: "must be 1h or 24h" }]);
	}
	const ctx = c.get("ctx");
	const [data, backlog] = await Promise.all([
		ctx.tasks.overview(parsed.data),
		// Tasks that run now have no row until a consumer claims them: the queue
		// itself is the backlog signal. The page still renders without it.
		ctx.tasks.backlog().catch((err: unknown) => {
			ctx.log.warn("queue metrics unavailable", { error: errorMessage(err) });
			return null;
		}),
	]);
	return c.html(
		layout(
			{ title: "Overview", section: "overview" },
			html`${toolbar("Overview")}
			<div id="live">
				<p class="muted">As of ${timeElement(data.now)}</p>
				${cards(data, backlog)}
				${throughput(data)}
				${counts(data)}
				${waitingOnLimits(data)}
				${recentFailures(data)}
			</div>`,
		),
	);
});
