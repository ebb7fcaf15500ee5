// Concurrency limits are kept by the claim itself (store/tasks.ts): a run of a
// task under one holds a slot of its key while its row is STARTED with a live
// lease, so D1, which serialises every claim, is the one place that counts
// them. Nothing is given back: the outcome's write ends the slot, and a run
// that dies leaves it with its lease. This names each run's slot and ranks
// the batch's runs of one key, and says how long a run held back waits.
import type { TaskDefinition } from "../define";
import { errorMessage } from "../log";
import type { ClaimRequest } from "../store/tasks";

export type Slot = NonNullable<ClaimRequest["slot"]>;

// A run held back asks again after this much per run ahead of it: runs that
// take a slot seldom hold it longer, and a queue's delay counts in seconds.
const PER_RUN_AHEAD_MS = 1_000;

/** The slot each run of a concurrency-limited task asks for, in the batch's order; and the runs whose key cannot be computed. */
export function slotsOf(runs: readonly { id: string; task: TaskDefinition<never>; input: unknown }[]) {
	const slots = new Map<string, Slot>();
	const unkeyable = new Map<string, string>();
	const ranks = new Map<string, number>();
	for (const { id, task, input } of runs) {
		const limit = task.concurrencyLimit;
		if (!limit) continue;
		let key: string;
		try {
			key = limit.key?.(input) ?? "";
		} catch (err) {
			unkeyable.set(id, `flow-control key failed: ${errorMessage(err)}`);
			continue;
		}
		const rank = (ranks.get(`${task.name}\n${key}`) ?? 0) + 1;
		ranks.set(`${task.name}\n${key}`, rank);
		slots.set(id, { key, limit: limit.limit, rank });
	}
	return { slots, unkeyable };
}

/**
 * How long the `waiter`-th run held back on one key waits before it asks
 * again: its turn at the usual pace, never past the end of the first slot's
 * lease, and at least a second.
 */
export function slotWaitSeconds(waiter: number, limit: number, freeAt: Date | undefined, now: Date): number {
	const turn = PER_RUN_AHEAD_MS * Math.ceil(waiter / limit);
	const bound = freeAt ? Math.min(turn, freeAt.getTime() - now.getTime()) : turn;
	return Math.max(1, Math.ceil(bound / 1000));
}
