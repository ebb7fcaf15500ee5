// One task: its state and timeline (created, due, each failed attempt with its
// error and delay, started, finished), result or error, and payload; and the
// revoke and retry buttons, which run the same engine calls as the API's.
import { Hono } from "hono/tiny";
import * as z from "zod";
import { isFinal, type TaskRow } from "../engine";
import { notFound } from "../errors";
import type { AppEnv } from "../http/app-env";
import { displayName, displayPayload, formatDuration, prettyJson, StateBadge, Time } from "./format";
import { Layout } from "./layout";
import { RefreshToggle } from "./refresh";

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
	if (task.finishedAt && isFinal(task.status)) {
		moments.push({ at: task.finishedAt, kind: task.status === "SUCCESS" ? "ok" : "fail", what: `Finished: ${task.status}` });
	}
	return moments.sort((a, b) => a.at.getTime() - b.at.getTime());
}

const Actions = ({ task }: { task: TaskRow }) => {
	const revocable = task.status === "PENDING" || task.status === "RETRY";
	const retryable = task.status === "FAILURE" || task.status === "REVOKED";
	if (!revocable && !retryable) return null;
	return (
		<div class="actions">
			{revocable && (
				<form method="post" action={`/dashboard/tasks/${task.id}/revoke`}>
					<button type="submit" class="danger">
						Revoke task
					</button>
				</form>
			)}
			{retryable && (
				<form method="post" action={`/dashboard/tasks/${task.id}/retry`}>
					<button type="submit" class="primary">
						Retry as a new task
					</button>
				</form>
			)}
		</div>
	);
};

const TaskView = ({ task }: { task: TaskRow }) => (
	<>
		<dl class="facts">
			<dt>State</dt>
			<dd>
				<StateBadge state={task.status} />
			</dd>
			<dt>Attempts</dt>
			<dd>{task.attempts}</dd>
			{task.retryOf && (
				<>
					<dt>Retry of</dt>
					<dd>
						<a href={`/dashboard/tasks/${task.retryOf}`}>
							<code>{task.retryOf}</code>
						</a>
					</dd>
				</>
			)}
			{task.startedAt && task.finishedAt && (
				<>
					<dt>Last run took</dt>
					<dd>{formatDuration(task.finishedAt.getTime() - task.startedAt.getTime())}</dd>
				</>
			)}
		</dl>
		<Actions task={task} />
		<h2>Timeline</h2>
		<ol class="timeline">
			{timeline(task).map((m) => (
				<li class={m.kind}>
					<Time value={m.at} /> <span class="what">{m.what}</span>
					{m.detail && <div class="mono">{m.detail}</div>}
				</li>
			))}
		</ol>
		{task.status === "SUCCESS" && (
			<>
				<h2>Result</h2>
				<pre>{prettyJson(displayPayload(task.result))}</pre>
			</>
		)}
		{task.error && task.status !== "SUCCESS" && (
			<>
				<h2>{isFinal(task.status) ? "Error" : "Last error"}</h2>
				<pre>{task.error}</pre>
			</>
		)}
		<h2>Payload</h2>
		<pre>{prettyJson(displayPayload(task.payload))}</pre>
	</>
);

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
	const task = await c.var.ctx.tasks.get(id);
	if (!task) throw notFound("Task");
	const notice = c.req.query("notice");
	return c.html(
		<Layout title={`${displayName(task)} ${task.id.slice(0, 8)}`} section="tasks">
			<div class="toolbar">
				<h1>
					{displayName(task)} <code class="muted">{task.id}</code>
				</h1>
				{!isFinal(task.status) && <RefreshToggle />}
			</div>
			{notice === "revoked" || notice === "retried" ? (
				<p class="notice" role="status">
					{notices[notice]}
				</p>
			) : null}
			<div id="live">
				<TaskView task={task} />
			</div>
		</Layout>,
	);
});

taskDetail.post("/:id/revoke", async (c) => {
	const id = taskId(c.req.param("id"));
	await c.var.ctx.tasks.revoke(id);
	return c.redirect(`/dashboard/tasks/${id}?notice=revoked`, 303);
});

taskDetail.post("/:id/retry", async (c) => {
	const { id } = await c.var.ctx.tasks.retry(taskId(c.req.param("id")));
	return c.redirect(`/dashboard/tasks/${id}?notice=retried`, 303);
});
