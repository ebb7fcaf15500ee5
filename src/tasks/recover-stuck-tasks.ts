// Stuck-task recovery: finds tasks nobody is going to finish and delivers them
// again (the same task id, not a new task), up to the task's retry limit.
// - STARTED whose lease expired: the consumer died mid-run (or its message was
//   dead-lettered while the row stayed STARTED).
// - PENDING long past due and untouched: its message was lost.
// Redelivering is safe: the consumer claims atomically, so a message that was
// only late and the recovery's copy still run the task once.
import { and, eq, lt, lte, or, sql } from "drizzle-orm";
import * as z from "zod";
import { type TaskRow, tasks } from "../db/schema";
import { defineTask } from "./define";
import { appendHistory } from "./history";
import { registry } from "./registry";
import { chunk, transition } from "./store";

const LEASE_EXPIRED = "the lease expired; redelivered by recovery";

export const recoverStuckTasks = defineTask({
	name: "recover_stuck_tasks",
	input: z.object({ limit: z.number().int().min(1).max(500).default(200) }).strict(),
	retry: { maxRetries: 2 },
	async run(ctx, { limit }) {
		const now = new Date();
		const stale = new Date(now.getTime() - ctx.config.stuckPendingSeconds * 1000);
		const stuck = await ctx.db
			.select()
			.from(tasks)
			.where(
				or(
					and(eq(tasks.status, "STARTED"), lte(tasks.leaseExpiresAt, now)),
					and(eq(tasks.status, "PENDING"), lt(tasks.dueAt, stale), lt(tasks.updatedAt, stale)),
				),
			)
			.limit(limit);

		// Every move is conditional on the state read above, so a run that claimed
		// a task in the meantime is left alone. All of them go to D1 in one batch:
		// recovery may find hundreds of tasks, and each D1 call is a subrequest.
		const moves = stuck.map((task) => {
			const definition = registry.get(task.name);
			const used = task.status === "STARTED" ? task.attempts : task.recoveries;
			if (!definition || used > definition.retry.maxRetries) {
				const error =
					task.status === "STARTED"
						? `abandoned: the lease expired after ${task.attempts} attempt(s)`
						: `lost: the message never arrived after ${task.recoveries} re-send(s)`;
				const history = appendHistory({ attempt: task.attempts, at: now, status: "FAILURE", error, delaySeconds: null });
				const set = { error, finishedAt: now, leaseExpiresAt: null, nextAttemptAt: null, history };
				return { task, to: "FAILURE" as const, error, statement: transition(ctx.db, task.id, "FAILURE", set, now) };
			}
			if (task.status === "STARTED") {
				const set = {
					error: LEASE_EXPIRED,
					nextAttemptAt: now,
					leaseExpiresAt: null,
					recoveries: sql`${tasks.recoveries} + 1`,
					history: appendHistory({ attempt: task.attempts, at: now, status: "RETRY", error: LEASE_EXPIRED, delaySeconds: 0 }),
				};
				const expired = and(eq(tasks.status, "STARTED"), lte(tasks.leaseExpiresAt, now));
				return { task, to: "RETRY" as const, statement: transition(ctx.db, task.id, "RETRY", set, now, expired) };
			}
			const statement = ctx.db
				.update(tasks)
				.set({ updatedAt: now, recoveries: sql`${tasks.recoveries} + 1` })
				.where(and(eq(tasks.id, task.id), eq(tasks.status, "PENDING")))
				.returning();
			return { task, to: "PENDING" as const, statement };
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

		for (const part of chunk(resend, 100)) {
			await ctx.tasks.resend(part.map((task) => ({ id: task.id, name: task.name, input: task.payload })));
		}
		const result = { redelivered: resend.length, failed, ids: resend.map((t) => t.id) };
		ctx.log.info("stuck tasks recovered", result);
		return result;
	},
});
