// Result expiry (Celery's result_expires and its backend_cleanup task):
// deletes finished tasks older than RESULT_TTL_SECONDS, and expired idempotency
// keys, a bounded number of rows per run so a huge backlog never exceeds a
// run's CPU or D1 limits; the next run continues where this one stopped.
import * as z from "zod";
import { defineTask } from "../define";
import type { Runtime } from "../runtime";
import { deleteExpiredKeys } from "../store/keys";
import { deleteExpiredTasks } from "../store/maintenance";
import { deleteExpiredWorkflows } from "../store/workflows";

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

export const expireResults = defineTask({
	name: "expire_results",
	input: z
		.object({
			chunk_size: z.number().int().min(1).max(1000).default(500),
			max_chunks: z.number().int().min(1).max(100).default(20),
		})
		.strict(),
	retry: { maxRetries: 2 },
	async run(rt: Runtime, { chunk_size, max_chunks }) {
		const now = new Date();
		const cutoff = new Date(now.getTime() - rt.config.resultTtlSeconds * 1000);
		const expiredTasks = await inChunks(chunk_size, max_chunks, () => deleteExpiredTasks(rt.db, cutoff, chunk_size));
		const expiredKeys = await inChunks(chunk_size, max_chunks, () => deleteExpiredKeys(rt.db, now, chunk_size));
		const expiredFlows = await inChunks(chunk_size, max_chunks, () => deleteExpiredWorkflows(rt.db, cutoff, chunk_size));
		const result = {
			deleted_tasks: expiredTasks.deleted,
			deleted_idempotency_keys: expiredKeys.deleted,
			deleted_workflows: expiredFlows.deleted,
			backlog_left: expiredTasks.more || expiredKeys.more || expiredFlows.more,
		};
		rt.log.info("results expired", result);
		return result;
	},
});
