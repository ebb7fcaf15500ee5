// Stuck-task recovery: finds tasks nobody is going to finish and delivers them
// again (the same task id, not a new task), up to the task's retry limit.
// - STARTED whose lease expired: the consumer died mid-run (or its message was
//   dead-lettered while the row stayed STARTED).
// - PENDING long past due and untouched: its message was lost.
// Redelivering is safe: the consumer claims atomically, so a message that was
// only late and the recovery's copy still run the task once.
import { and, eq, lt, lte, or, sql } from "drizzle-orm";
import { z } from "zod";
import { type TaskRow, tasks } from "../db/schema";
import { defineTask } from "./define";
import { appendHistory } from "./history";
import { registry } from "./registry";
import { chunk, markFailure, transition } from "./store";

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

		const resend: TaskRow[] = [];
		let failed = 0;
		for (const task of stuck) {
			const definition = registry.get(task.name);
			const used = task.status === "STARTED" ? task.attempts : task.recoveries;
			if (!definition || used > definition.retry.maxRetries) {
				const reason =
					task.status === "STARTED"
						? `abandoned: the lease expired after ${task.attempts} attempt(s)`
						: `lost: the message never arrived after ${task.recoveries} re-send(s)`;
				if (await markFailure(ctx.db, task.id, reason, now)) failed++;
				ctx.log.warn("task transition", { task_id: task.id, name: task.name, from: task.status, to: "FAILURE", error: reason });
				continue;
			}
			// Conditional on the state we read, so a run that claimed the task in
			// the meantime is left alone.
			const [moved] =
				task.status === "STARTED"
					? await transition(
							ctx.db,
							task.id,
							"RETRY",
							{
								error: LEASE_EXPIRED,
								nextAttemptAt: now,
								leaseExpiresAt: null,
								recoveries: sql`${tasks.recoveries} + 1`,
								history: appendHistory({
									attempt: task.attempts,
									at: now,
									status: "RETRY",
									error: LEASE_EXPIRED,
									delaySeconds: 0,
								}),
							},
							now,
							and(eq(tasks.status, "STARTED"), lte(tasks.leaseExpiresAt, now)),
						)
					: await ctx.db
							.update(tasks)
							.set({ updatedAt: now, recoveries: sql`${tasks.recoveries} + 1` })
							.where(and(eq(tasks.id, task.id), eq(tasks.status, "PENDING")))
							.returning();
			if (moved) resend.push(moved);
		}

		for (const part of chunk(resend, 100)) {
			await ctx.tasks.resend(part.map((task) => ({ id: task.id, name: task.name, input: task.payload })));
		}
		const result = { redelivered: resend.length, failed, ids: resend.map((t) => t.id) };
		ctx.log.info("stuck tasks recovered", result);
		return result;
	},
});
