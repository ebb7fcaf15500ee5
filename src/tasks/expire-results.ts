// Result expiry (Celery's result_expires): deletes finished tasks older than
// RESULT_TTL_SECONDS, and expired idempotency keys, a bounded number of rows
// per run so a huge backlog never exceeds a run's CPU or D1 limits; the next
// run continues where this one stopped.
import { and, inArray, lt, sql } from "drizzle-orm";
import * as z from "zod";
import type { Database } from "../db/client";
import { idempotencyKeys, tasks } from "../db/schema";
import { defineTask } from "./define";
import { FINAL_STATES } from "./states";

/** Runs `deleteChunk` until it deletes fewer than `size` rows or `max` chunks ran. */
async function inChunks(size: number, max: number, deleteChunk: () => Promise<unknown[]>) {
	let deleted = 0;
	for (let i = 0; i < max; i++) {
		const rows = await deleteChunk();
		deleted += rows.length;
		if (rows.length < size) return { deleted, more: false };
	}
	return { deleted, more: true };
}

/**
 * Up to `limit` ids of tasks that finished before `cutoff`, oldest first, read
 * from the partial finished_at index. The status test is a guard (only final
 * states set finished_at); its unary + keeps SQLite from choosing the status
 * index instead, which would read every finished task on each run.
 */
export function expiredTaskIds(db: Database, cutoff: Date, limit: number) {
	return db
		.select({ id: tasks.id })
		.from(tasks)
		.where(and(lt(tasks.finishedAt, cutoff), inArray(sql`+${tasks.status}`, [...FINAL_STATES])))
		.orderBy(tasks.finishedAt)
		.limit(limit);
}

export const expireResults = defineTask({
	name: "expire_results",
	input: z
		.object({
			chunk_size: z.number().int().min(1).max(1000).default(500),
			max_chunks: z.number().int().min(1).max(100).default(20),
		})
		.strict(),
	retry: { maxRetries: 2 },
	async run(ctx, { chunk_size, max_chunks }) {
		const now = new Date();
		const cutoff = new Date(now.getTime() - ctx.config.resultTtlSeconds * 1000);
		// Task effects go with their task (ON DELETE CASCADE).
		const expiredTasks = await inChunks(chunk_size, max_chunks, () =>
			ctx.db
				.delete(tasks)
				.where(inArray(tasks.id, expiredTaskIds(ctx.db, cutoff, chunk_size)))
				.returning({ id: tasks.id }),
		);
		const expiredKeys = await inChunks(chunk_size, max_chunks, () =>
			ctx.db
				.delete(idempotencyKeys)
				.where(
					inArray(
						idempotencyKeys.key,
						ctx.db
							.select({ key: idempotencyKeys.key })
							.from(idempotencyKeys)
							.where(lt(idempotencyKeys.expiresAt, now))
							.limit(chunk_size),
					),
				)
				.returning({ key: idempotencyKeys.key }),
		);
		const result = {
			deleted_tasks: expiredTasks.deleted,
			deleted_idempotency_keys: expiredKeys.deleted,
			backlog_left: expiredTasks.more || expiredKeys.more,
		};
		ctx.log.info("results expired", result);
		return result;
	},
});
