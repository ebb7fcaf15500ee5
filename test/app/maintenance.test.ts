// Built-in maintenance tasks: result expiry, stuck-task recovery, daily summary,
// and the example periodic task.
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { countingD1, type D1Counts } from "../../bench/worker/d1-counter";
import { tasks } from "../../src/db/schema";
import { expireResults } from "../../src/engine/builtins/expire-results";
import { recoverStuckTasks } from "../../src/engine/builtins/recover-stuck-tasks";
import { createScopes } from "../../src/engine/engine";
import type { Envelope } from "../../src/engine/envelope";
import { owingWebhooks } from "../../src/engine/store/callbacks";
import { expiredTaskIds } from "../../src/engine/store/maintenance";
import { deleteExpiredWorkflows } from "../../src/engine/store/workflows";
import { engineOptions } from "../../src/index";
import { dailySummary } from "../../src/tasks/daily-summary";
import { processPendingUsers } from "../../src/tasks/process-pending-users";

import { claimTask, createUser, deliver, engineDb, recorded, taskRow, testContext } from "./helpers";

afterEach(() => vi.restoreAllMocks());

/** SQLite's plan for a drizzle query, one step per line. */
async function planOf(query: { toSQL(): { sql: string; params: unknown[] } }): Promise<string[]> {
	const { sql, params } = query.toSQL();
	const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
		.bind(...params)
		.all<{ detail: string }>();
	return plan.results.map((row) => row.detail);
}

const DAY = 86_400_000;
const email = { recipient: "ada@example.com", subject: "Hi", body: "Body" };

async function seedTask(status: string, finishedAgoMs: number | null, tag: string) {
	const id = crypto.randomUUID();
	const finishedAt = finishedAgoMs === null ? null : new Date(Date.now() - finishedAgoMs);
	await testContext()
		.db.insert(tasks)
		.values({ id, name: "process_user_data", payload: { tag }, status: status as "PENDING", finishedAt });
	return id;
}

const countTagged = async (tag: string) =>
	(
		await env.DB.prepare("SELECT count(*) AS n FROM tasks WHERE json_extract(payload, '$.tag') = ?")
			.bind(tag)
			.first<{ n: number }>()
	)?.n;

describe("expire_results", () => {
	it("deletes only old finished tasks, in bounded chunks per run, with their effects", async () => {
		const tag = crypto.randomUUID();
		const old: string[] = [];
		for (let i = 0; i < 25; i++) old.push(await seedTask(["SUCCESS", "FAILURE", "REVOKED"][i % 3] ?? "SUCCESS", 8 * DAY, tag));
		await env.DB.prepare("INSERT INTO task_effects (task_id, key, value) VALUES (?, 'email', '{}')").bind(old[0]).run();
		const keep = [
			await seedTask("SUCCESS", 6 * DAY, tag), // finished, but within RESULT_TTL (7 days)
			await seedTask("PENDING", null, tag), // old but unfinished
			await seedTask("RETRY", null, tag),
		];
		await env.DB.prepare("UPDATE tasks SET created_at = 0 WHERE json_extract(payload, '$.tag') = ?").bind(tag).run();

		const first = await testContext().tasks.apply(expireResults, { chunk_size: 10, max_chunks: 2 });
		expect(first.result).toMatchObject({ deleted_tasks: 20, backlog_left: true });
		expect(await countTagged(tag)).toBe(28 - 20);

		const second = await testContext().tasks.apply(expireResults, { chunk_size: 10, max_chunks: 2 });
		expect(second.result).toMatchObject({ deleted_tasks: 5, backlog_left: false });
		for (const id of keep) expect(await taskRow(id)).toBeDefined();
		expect(await countTagged(tag)).toBe(3);
		const effects = await env.DB.prepare("SELECT count(*) AS n FROM task_effects WHERE task_id = ?")
			.bind(old[0])
			.first<{ n: number }>();
		expect(effects?.n).toBe(0);
	});

	it("finds expired tasks through the finished_at index, not by reading every finished task", async () => {
		const plan = await planOf(expiredTaskIds(engineDb(), new Date(), 500));
		expect(plan[0]).toContain("USING INDEX tasks_finished_status_idx (finished_at<?)");
		// A workflow step's siblings are looked up by their index, not scanned.
		expect(plan.slice(1).every((step) => !/^SCAN/.test(step) || step.includes("INDEX"))).toBe(true);
	});

	it("deletes a workflow once its steps have expired, not before", async () => {
		const old = Date.now() - 8 * DAY;
		const [gone, kept] = [crypto.randomUUID(), crypto.randomUUID()];
		await env.DB.prepare(
			"INSERT INTO workflows (id, kind, members, created_at) VALUES (?1, 'group', 1, ?3), (?2, 'group', 1, ?3)",
		)
			.bind(gone, kept, old)
			.run();
		// One old finished step that expires now, and one that is still waiting.
		await env.DB.prepare(
			`INSERT INTO tasks (id, name, payload, status, created_at, updated_at, finished_at, workflow_id, workflow_step)
			VALUES (?1, 'daily_summary', '{}', 'SUCCESS', ?3, ?3, ?3, ?4, 0), (?2, 'daily_summary', '{}', 'PENDING', ?3, ?3, NULL, ?5, 0)`,
		)
			.bind(crypto.randomUUID(), crypto.randomUUID(), old, gone, kept)
			.run();
		const run = await testContext().tasks.apply(expireResults, {});
		expect((run.result as { deleted_workflows: number }).deleted_workflows).toBeGreaterThanOrEqual(1);
		const left = await env.DB.prepare("SELECT id FROM workflows WHERE id IN (?, ?)").bind(gone, kept).all<{ id: string }>();
		expect(left.results.map((r) => r.id)).toEqual([kept]);
		expect(await planOf(deleteExpiredWorkflows(engineDb(), new Date(), 10))).toContainEqual(
			expect.stringContaining("USING INDEX workflows_created_idx (created_at<?)"),
		);
	});

	it("keeps a workflow's finished step while another step of it is unfinished", async () => {
		const flow = crypto.randomUUID();
		const [early, late] = [crypto.randomUUID(), crypto.randomUUID()];
		const old = Date.now() - 8 * DAY;
		await env.DB.prepare(
			`INSERT INTO tasks (id, name, payload, status, created_at, updated_at, finished_at, workflow_id, workflow_step)
			VALUES (?1, 'daily_summary', '{}', 'SUCCESS', ?3, ?3, ?3, ?4, 0), (?2, 'daily_summary', '{}', 'RETRY', ?3, ?3, NULL, ?4, 1)`,
		)
			.bind(early, late, old, flow)
			.run();
		await testContext().tasks.apply(expireResults, {});
		expect(await taskRow(early)).toMatchObject({ status: "SUCCESS" });
	});

	it("finds tasks owing a webhook through their partial index alone", async () => {
		expect(await planOf(owingWebhooks(engineDb(), new Date(), 200))).toEqual([
			expect.stringContaining("USING INDEX tasks_callback_due_idx (finished_at<?)"),
		]);
	});

	it("deletes expired idempotency keys and keeps live ones", async () => {
		const now = Date.now();
		await env.DB.prepare(
			"INSERT INTO idempotency_keys (key, fingerprint, task_id, expires_at) VALUES ('old', 'f', 't', ?), ('live', 'f', 't', ?)",
		)
			.bind(now - 1000, now + DAY)
			.run();
		await testContext().tasks.apply(expireResults, {});
		const keys = await env.DB.prepare("SELECT key FROM idempotency_keys WHERE key IN ('old', 'live')").all<{ key: string }>();
		expect(keys.results.map((k) => k.key)).toEqual(["live"]);
	});
});

describe("recover_stuck_tasks", () => {
	/** The task queue's backlog as Queue.metrics() reports it (the real call otherwise reflects other tests' messages). */
	const backlog = (backlogCount: number, oldestMessageTimestamp?: Date) =>
		vi.spyOn(env.TASKS, "metrics").mockResolvedValue({ backlogCount, backlogBytes: backlogCount * 200, oldestMessageTimestamp });
	beforeEach(() => {
		backlog(0);
	});

	it("leaves a task released from D1 behind a backlog alone: its message went out when it was released, not created", async () => {
		const waiting = await recorded("send_email", email);
		const [twoDaysAgo, anHourAgo, twentyMinutesAgo] = [Date.now() - 2 * DAY, Date.now() - 3600_000, Date.now() - 1200_000];
		await env.DB.prepare("UPDATE tasks SET created_at = ?, due_at = ?, updated_at = ? WHERE id = ?")
			.bind(twoDaysAgo, anHourAgo, twentyMinutesAgo, waiting.id)
			.run();
		// The queue still holds messages from 30 minutes ago: its own could be among them.
		backlog(50, new Date(Date.now() - 1800_000));
		await testContext().tasks.apply(recoverStuckTasks, {});
		expect(await taskRow(waiting.id)).toMatchObject({ status: "PENDING", recoveries: 0 });
		// Out of the next tests' way: they count what recovery re-sends.
		await testContext().tasks.revoke(waiting.id);
	});

	it("redelivers a STARTED task whose lease expired and a lost PENDING task; each then completes exactly once", async () => {
		const mailer = vi.spyOn(env.MAILER, "send");
		const stuck = await recorded("send_email", email);
		await claimTask(stuck, 60);
		await env.DB.prepare("UPDATE tasks SET lease_expires_at = ? WHERE id = ?")
			.bind(Date.now() - 1000, stuck.id)
			.run();
		const lost = await recorded("send_email", { ...email, recipient: "grace@example.com" });
		const longAgo = Date.now() - 3600_000;
		await env.DB.prepare("UPDATE tasks SET due_at = ?, updated_at = ? WHERE id = ?").bind(longAgo, longAgo, lost.id).run();
		const fresh = await recorded("send_email", email); // PENDING, but recent: left alone

		const sendBatch = vi.spyOn(env.TASKS, "sendBatch");
		const run = await testContext().tasks.apply(recoverStuckTasks, {});

		expect(run.result).toMatchObject({ failed: 0 });
		const resent = sendBatch.mock.calls.flatMap(([messages]) => [...messages].map((m) => m.body as Envelope));
		expect(resent.map((e) => e.id).sort()).toEqual([stuck.id, lost.id].sort());
		expect(resent.map((e) => e.id)).not.toContain(fresh.id);
		expect(await taskRow(stuck.id)).toMatchObject({ status: "RETRY", recoveries: 1 });

		// The recovery's copies arrive, and so does a late copy of the lost message.
		await deliver([...resent, lost]);
		expect(await taskRow(stuck.id)).toMatchObject({ status: "SUCCESS", attempts: 2 });
		expect(await taskRow(lost.id)).toMatchObject({ status: "SUCCESS", attempts: 1 });
		expect(mailer).toHaveBeenCalledTimes(2);
	});

	it("leaves a PENDING task alone while the queue still holds messages from before it, and re-sends it once it does not", async () => {
		const waiting = await recorded("process_user_data", { user_id: 1 });
		const hourAgo = Date.now() - 3600_000;
		await env.DB.prepare("UPDATE tasks SET created_at = ?, due_at = ?, updated_at = ? WHERE id = ?")
			.bind(hourAgo, hourAgo, hourAgo, waiting.id)
			.run();
		const sendBatch = vi.spyOn(env.TASKS, "sendBatch");

		// A backlog (or a consumer outage) since before the task: its message is likely still queued.
		backlog(5000, new Date(hourAgo - 60_000));
		const behindBacklog = await testContext().tasks.apply(recoverStuckTasks, {});
		expect(behindBacklog.result).toMatchObject({ redelivered: 0, failed: 0 });
		expect(sendBatch).not.toHaveBeenCalled();
		expect(await taskRow(waiting.id)).toMatchObject({ status: "PENDING", recoveries: 0 });

		// The queue holds nothing that old any more, allowing for the send: the message was lost.
		backlog(5000, new Date(hourAgo + 2 * 60_000));
		const lost = await testContext().tasks.apply(recoverStuckTasks, {});
		expect(lost.result).toMatchObject({ redelivered: 1, ids: [waiting.id] });
		expect(await taskRow(waiting.id)).toMatchObject({ status: "PENDING", recoveries: 1 });
	});

	it("re-sends a RETRY task whose retry never came back, as a lost message", async () => {
		const stranded = await recorded("process_user_data", { user_id: 1 });
		const hourAgo = Date.now() - 3600_000;
		await env.DB.prepare(
			"UPDATE tasks SET status = 'RETRY', attempts = 1, created_at = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?",
		)
			.bind(hourAgo, hourAgo, hourAgo, stranded.id)
			.run();
		const sendBatch = vi.spyOn(env.TASKS, "sendBatch");

		const run = await testContext().tasks.apply(recoverStuckTasks, {});

		expect(run.result).toMatchObject({ redelivered: 1, ids: [stranded.id] });
		expect(sendBatch.mock.calls.flatMap(([messages]) => [...messages].map((m) => (m.body as Envelope).id))).toEqual([
			stranded.id,
		]);
		expect(await taskRow(stranded.id)).toMatchObject({ status: "RETRY", recoveries: 1 });
		await deliver([{ id: stranded.id, name: stranded.name, input: stranded.input }]);
		expect(await taskRow(stranded.id)).toMatchObject({ status: "SUCCESS", attempts: 2 });
	});

	it("decides any number of stuck tasks in three D1 round trips (find, move them all, find webhooks owed)", async () => {
		const stuck = await Promise.all(Array.from({ length: 30 }, (_, i) => recorded("process_user_data", { user_id: i + 1 })));
		const ids = JSON.stringify(stuck.map((t) => t.id));
		await env.DB.prepare(
			"UPDATE tasks SET status = 'STARTED', attempts = CASE WHEN rowid % 2 = 0 THEN 1 ELSE 9 END, lease_expires_at = 1 WHERE id IN (SELECT value FROM json_each(?))",
		)
			.bind(ids)
			.run();
		const counts: D1Counts = { roundTrips: 0, statements: 0 };
		const { rt } = createScopes(engineOptions).scopeOf({ ...env, DB: countingD1(env.DB, counts) });
		const info = {
			id: crypto.randomUUID(),
			name: recoverStuckTasks.name,
			attempt: 1,
			once: <T>(_: string, f: () => Promise<T>) => f(),
		};

		const result = (await recoverStuckTasks.run(rt, { limit: 500 }, info)) as { redelivered: number; failed: number };

		expect(counts.roundTrips).toBe(3);
		expect(result.redelivered + result.failed).toBeGreaterThanOrEqual(30);
		// Within its retry limit a task is sent again; past it (9 attempts), it fails.
		const outcomes = { RETRY: 0, FAILURE: 0 };
		for (const task of stuck) {
			const row = await taskRow(task.id);
			expect(row?.status).toBe(row?.attempts === 9 ? "FAILURE" : "RETRY");
			if (row?.status === "RETRY" || row?.status === "FAILURE") outcomes[row.status]++;
		}
		expect(outcomes).toEqual({ RETRY: 15, FAILURE: 15 });
	});

	it("fails a task past its retry limit with a clear reason instead of redelivering it", async () => {
		const stuck = await recorded("process_user_data", { user_id: 1 });
		await env.DB.prepare("UPDATE tasks SET status = 'STARTED', attempts = 4, lease_expires_at = 1 WHERE id = ?")
			.bind(stuck.id)
			.run();
		const lost = await recorded("process_user_data", { user_id: 2 });
		await env.DB.prepare("UPDATE tasks SET created_at = 1, due_at = 1, updated_at = 1, recoveries = 4 WHERE id = ?")
			.bind(lost.id)
			.run();

		const run = await testContext().tasks.apply(recoverStuckTasks, {});

		expect(run.result).toMatchObject({ failed: 2 });
		expect(await taskRow(stuck.id)).toMatchObject({
			status: "FAILURE",
			error: "abandoned: the lease expired after 4 attempt(s)",
		});
		expect(await taskRow(lost.id)).toMatchObject({
			status: "FAILURE",
			error: "lost: the message never arrived after 4 re-send(s)",
		});
	});
});

describe("daily_summary", () => {
	it("counts the last day's tasks per state and per name, and logs them", async () => {
		const info = vi.spyOn(console, "log");
		await seedTask("SUCCESS", 1000, "summary");
		const run = await testContext().tasks.apply(dailySummary, {});
		const summary = run.result as {
			total: number;
			by_state: Record<string, number>;
			by_name: Record<string, Record<string, number>>;
		};
		expect(summary.total).toBeGreaterThanOrEqual(1);
		expect(summary.by_state.SUCCESS).toBeGreaterThanOrEqual(1);
		expect(summary.by_name.process_user_data?.SUCCESS).toBeGreaterThanOrEqual(1);
		const line = info.mock.calls.map((c) => JSON.parse(String(c[0]))).find((l) => l.msg === "daily summary");
		expect(line).toMatchObject({ total: summary.total });
	});
});

describe("process_pending_users (the example periodic task)", () => {
	it("queues process_user_data for each unprocessed user, in bulk", async () => {
		const sendBatch = vi.spyOn(env.TASKS, "sendBatch");
		const pending = [await createUser(), await createUser()];
		const done = await createUser();
		await env.DB.prepare("UPDATE users SET processed = 1 WHERE id = ?").bind(done.id).run();

		const run = await testContext().tasks.apply(processPendingUsers, {});

		const queued = sendBatch.mock.calls.flatMap(([messages]) => [...messages].map((m) => (m.body as Envelope).input));
		for (const user of pending) expect(queued).toContainEqual({ user_id: user.id });
		expect(queued).not.toContainEqual({ user_id: done.id });
		expect(run.result).toEqual({ queued: queued.length });
	});
});
