// One task: its state and timeline (created, due, each failed attempt with its
// error and delay, started, finished), result or error, and payload; and the
// revoke and retry buttons, which run the same engine calls as the API's.
import { html } from "hono/html";
import { Hono } from "hono/tiny";
import * as z from "zod";
import { isFinal, type TaskRow, type WorkflowBody } from "../engine";
import { notFound } from "../errors";
import type { AppEnv } from "../http/app-env";
import { displayName, displayPayload, formatDuration, prettyJson, stateBadge, timeElement } from "./format";
import { layout } from "./layout";
import { toolbar } from "./refresh";

const notices = {
	revoked: "Revoked. The task will not run; its message is acked when it arrives.",
	retried: "Enqueued again as this new task.",
} as const;

interface Moment {
	at: Date;
	kind: "ok" | "fail" | "info";
	what: string;
	detail?: string;
}

/** Everything that happened to the task, oldest first. */
function timeline(task: TaskRow): Moment[] {
	const created = task.retryOf ? "Created as a retry of an earlier task" : "Created";
	const moments: Moment[] = [{ at: task.createdAt, kind: "info", what: created }];
	if (task.dueAt && task.dueAt.getTime() > task.createdAt.getTime()) {
		moments.push({
			at: task.dueAt,
			kind: "info",
			what: `Due, ${formatDuration(task.dueAt.getTime() - task.createdAt.getTime())} after creation`,
		});
	}
	for (const entry of task.history) {
		const retry = entry.status === "RETRY" && entry.delaySeconds !== null;
		moments.push({
			at: new Date(entry.at),
			kind: "fail",
			what: entry.attempt === 0 ? "Failed before running" : `Attempt ${entry.attempt} failed`,
			detail: retry ? `${entry.error} — retrying in ${formatDuration((entry.delaySeconds ?? 0) * 1000)}` : entry.error,
		});
	}
	// Only the latest start is stored; earlier ones end in the failures above.
	if (task.startedAt) moments.push({ at: task.startedAt, kind: "info", what: `Attempt ${task.attempts} started` });
	if (task.status === "RETRY" && task.nextAttemptAt) {
		moments.push({ at: task.nextAttemptAt, kind: "info", what: "Next attempt due" });
	}
	// Held back by a flow limit: asked again at its due time.
	const askedAgain = task.status === "RETRY" ? task.nextAttemptAt : task.dueAt;
	if (task.waiting && !isFinal(task.status) && askedAgain) {
		moments.push({ at: task.updatedAt, kind: "info", what: `Waiting (${task.waiting})`, detail: "asked again at its due time" });
	}
	if (task.finishedAt && isFinal(task.status)) {
		moments.push({ at: task.finishedAt, kind: task.status === "SUCCESS" ? "ok" : "fail", what: `Finished: ${task.status}` });
	}
	return moments.sort((a, b) => a.at.getTime() - b.at.getTime());
}

function actions(task: TaskRow) {
	const revocable = task.status === "PENDING" || task.status === "RETRY";
	const retryable = task.status === "FAILURE" || task.status === "REVOKED";
	if (!revocable && !retryable) return null;
	const button = (action: "revoke" | "retry", kind: string, label: string) =>
		html`<form method="post" action="/dashboard/tasks/${task.id}/${action}"><button type="submit" class="${kind}">${label}</button></form>`;
	return html`<div class="actions">
		${revocable && button("revoke", "danger", "Revoke task")}
		${retryable && button("retry", "primary", "Retry as a new task")}
	</div>`;
}

const moment = (m: Moment) =>
	html`<li class="${m.kind}">${timeElement(m.at)} <span class="what">${m.what}</span>${m.detail && html`<div class="mono">${m.detail}</div>`}</li>`;

/** The workflow a step belongs to: what it is, and every step, this one marked. */
function workflowView(task: TaskRow, flow: WorkflowBody) {
	const row = (step: WorkflowBody["steps"][number], i: number) =>
		html`<tr${step.task_id === task.id ? html` aria-current="step"` : ""}>
			<td>${i + 1}</td>
			<td><a href="/dashboard/tasks/${step.task_id}">${step.name}</a></td>
			<td>${stateBadge(step.status)}</td>
		</tr>`;
	return html`<h2>Workflow</h2>
	<p>A ${flow.kind}, ${stateBadge(flow.status)}: <code>${flow.workflow_id}</code></p>
	<table>
		<thead><tr><th scope="col">Step</th><th scope="col">Task</th><th scope="col">State</th></tr></thead>
		<tbody>${flow.steps.map(row)}</tbody>
	</table>`;
}

function taskView(task: TaskRow, flow?: WorkflowBody) {
	const retryOf =
		task.retryOf &&
		html`<dt>Retry of</dt>
		<dd><a href="/dashboard/tasks/${task.retryOf}"><code>${task.retryOf}</code></a></dd>`;
	const took =
		task.startedAt &&
		task.finishedAt &&
		html`<dt>Last run took</dt>
		<dd>${formatDuration(task.finishedAt.getTime() - task.startedAt.getTime())}</dd>`;
	// Whitespace inside <pre> is shown: its content stays on the tag's line.
	const result =
		task.status === "SUCCESS" &&
		html`<h2>Result</h2>
		<pre>${prettyJson(displayPayload(task.result))}</pre>`;
	const error =
		task.error &&
		task.status !== "SUCCESS" &&
		html`<h2>${isFinal(task.status) ? "Error" : "Last error"}</h2>
		<pre>${task.error}</pre>`;
	return html`<dl class="facts">
		<dt>State</dt>
		<dd>${stateBadge(task.status)}</dd>
		<dt>Attempts</dt>
		<dd>${task.attempts}</dd>
		${retryOf}
		${took}
	</dl>
	${actions(task)}
	${flow && workflowView(task, flow)}
	<h2>Timeline</h2>
	<ol class="timeline">${timeline(task).map(moment)}</ol>
	${result}
	${error}
	<h2>Payload</h2>
	<pre>${prettyJson(displayPayload(task.payload))}</pre>`;
}

const idParam = z.uuid();

/** The task named in the path; an id that is not a UUID is as unknown as a missing task. */
function taskId(raw: string): string {
	const parsed = idParam.safeParse(raw);
	if (!parsed.success) throw notFound("Task");
	return parsed.data;
}

export const taskDetail = new Hono<AppEnv>();

taskDetail.get("/:id", async (c) => {
	const id = taskId(c.req.param("id"));
	// A task still on the queue shows as the API shows it: PENDING, by its id.
	const task = await c.get("ctx").tasks.get(id);
	if (!task) throw notFound("Task");
	const flow = task.workflowId ? await c.get("ctx").tasks.workflow(task.workflowId) : undefined;
	const notice = c.req.query("notice");
	return c.html(
		layout(
			{ title: `${displayName(task)} ${task.id.slice(0, 8)}`, section: "tasks" },
			html`${toolbar(html`${displayName(task)} <code class="muted">${task.id}</code>`, !isFinal(task.status))}
			${(notice === "revoked" || notice === "retried") && html`<p class="notice" role="status">${notices[notice]}</p>`}
			<div id="live">${taskView(task, flow)}</div>`,
		),
	);
});

taskDetail.post("/:id/revoke", async (c) => {
	const id = taskId(c.req.param("id"));
	await c.get("ctx").tasks.revoke(id);
	return c.redirect(`/dashboard/tasks/${id}?notice=revoked`, 303);
});

taskDetail.post("/:id/retry", async (c) => {
	const { id } = await c.get("ctx").tasks.retry(taskId(c.req.param("id")));
	return c.redirect(`/dashboard/tasks/${id}?notice=retried`, 303);
});
