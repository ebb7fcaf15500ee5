// Stuck-task recovery: finds tasks nobody is going to finish and delivers them
// again (the same task id, not a new task), up to the task's retry limit.
// - STARTED whose lease expired: the consumer died mid-run (or its message was
//   dead-lettered while the row stayed STARTED).
// - PENDING long past due and untouched, or RETRY long past its next attempt:
//   its message was lost. Only if the queue cannot still hold it: while the
//   queue keeps messages sent before the task was enqueued, a backlog or a
//   consumer outage explains the wait, and re-sending would only add to it.
// Redelivering is safe: the consumer claims atomically, so a message that was
// only late and the recovery's copy still run the task once.
import { and, eq, lt, lte, or, type SQL, sql } from "drizzle-orm";
import * as z from "zod";
import { type TaskRow, tasks } from "../db/schema";
import { defineTask } from "./define";
import { appendHistory } from "./history";
import type { Backlog } from "./producer";
import { registry } from "./registry";
import { transition } from "./store";

const LEASE_EXPIRED = "the lease expired; redelivered by recovery";

/**
 * Tasks enqueued before this instant cannot still be waiting on the queue:
 * it holds nothing that old. Undefined when the queue is empty.
 */
function queueHoldsSince(backlog: Backlog): Date | undefined {
	if (backlog.messages === 0) return undefined;
	return backlog.oldestSentAt ?? new Date(0);
}

export const recoverStuckTasks = defineTask({
	name: "recover_stuck_tasks",
	input: z.object({ limit: z.number().int().min(1).max(500).default(200) }).strict(),
	retry: { maxRetries: 2 },
	async run(ctx, { limit }) {
		const now = new Date();
		const stale = new Date(now.getTime() - ctx.config.stuckPendingSeconds * 1000);
		const holdsSince = queueHoldsSince(await ctx.tasks.backlog());
		const notOnQueue = holdsSince ? lt(tasks.createdAt, holdsSince) : undefined;
		const stuck = await ctx.db
			.select()
			.from(tasks)
			.where(
				or(
					and(eq(tasks.status, "STARTED"), lte(tasks.leaseExpiresAt, now)),
					and(eq(tasks.status, "PENDING"), lt(tasks.dueAt, stale), lt(tasks.updatedAt, stale), notOnQueue),
					and(eq(tasks.status, "RETRY"), lt(tasks.nextAttemptAt, stale), lt(tasks.updatedAt, stale), notOnQueue),
				),
			)
			.limit(limit);

		// Every move is conditional on the state read above, so a run that claimed
		// a task in the meantime is left alone. All of them go to D1 in one batch:
		// recovery may find hundreds of tasks, and each D1 call is a subrequest.
		const moves = stuck.map((task) => {
			const unchanged: SQL | undefined =
				task.status === "STARTED"
					? and(eq(tasks.status, "STARTED"), lte(tasks.leaseExpiresAt, now))
					: and(eq(tasks.status, task.status), eq(tasks.updatedAt, task.updatedAt));
			const definition = registry.get(task.name);
			const used = task.status === "STARTED" ? task.attempts : task.recoveries;
			if (!definition || used > definition.retry.maxRetries) {
				const error =
					task.status === "STARTED"
						? `abandoned: the lease expired after ${task.attempts} attempt(s)`
						: `lost: the message never arrived after ${task.recoveries} re-send(s)`;
				const history = appendHistory({ attempt: task.attempts, at: now, status: "FAILURE", error, delaySeconds: null });
				const set = { error, finishedAt: now, leaseExpiresAt: null, nextAttemptAt: null, history };
				const statement = transition(ctx.db, task.id, "FAILURE", set, now, unchanged);
				return { task, to: "FAILURE" as const, error, statement };
			}
			if (task.status === "STARTED") {
				const set = {
					error: LEASE_EXPIRED,
					nextAttemptAt: now,
					leaseExpiresAt: null,
					recoveries: sql`${tasks.recoveries} + 1`,
					history: appendHistory({ attempt: task.attempts, at: now, status: "RETRY", error: LEASE_EXPIRED, delaySeconds: 0 }),
				};
				return { task, to: "RETRY" as const, statement: transition(ctx.db, task.id, "RETRY", set, now, unchanged) };
			}
			// PENDING or RETRY whose message was lost: the same state, re-sent.
			const statement = ctx.db
				.update(tasks)
				.set({ updatedAt: now, recoveries: sql`${tasks.recoveries} + 1` })
				.where(and(eq(tasks.id, task.id), unchanged))
				.returning();
			return { task, to: task.status, statement };
		});
		const [firstMove, ...moreMoves] = moves.map((m) => m.statement);
		const results: TaskRow[][] = firstMove ? await ctx.db.batch([firstMove, ...moreMoves]) : [];

		const resend: TaskRow[] = [];
		let failed = 0;
		moves.forEach((move, i) => {
			const [moved] = results[i] ?? [];
			if (!moved) return;
			if (move.to !== "FAILURE") {
				resend.push(moved);
				return;
			}
			failed++;
			const { id, name, status } = move.task;
			ctx.log.warn("task transition", { task_id: id, name, from: status, to: "FAILURE", error: move.error });
		});

		// If the send fails, the moved tasks are RETRY or PENDING without a
		// message; a later run finds them stale and sends them again.
		await ctx.tasks.resend(resend.map((task) => ({ id: task.id, name: task.name, input: task.payload })));
		const result = { redelivered: resend.length, failed, ids: resend.map((t) => t.id) };
		ctx.log.info("stuck tasks recovered", result);
		return result;
	},
});
