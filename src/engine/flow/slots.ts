// Concurrency limits are kept by the claim itself (store/tasks.ts): a run of a
// task under one holds a slot of its key while its row is STARTED with a live
// lease, so D1, which serialises every claim, is the one place that counts
// them. The outcome's write ends the slot; a batch that fails once its runs
// are over frees theirs (freeSlots), and a run that dies keeps its slot until
// its lease ends. This names each run's slot, ranks the batch's runs of one
// key, and says how long a run held back waits.
import type { TaskDefinition } from "../define";
import type { ClaimRequest } from "../store/tasks";
import { keyOf } from "./admit";

export type Slot = NonNullable<ClaimRequest["slot"]>;

/** One key of one task's limit: what its slots are counted under. */
export const slotName = (task: string, key: string) => `${task}\n${key}`;

// A run held back asks again after this long per turn ahead of it: runs that
// take a slot seldom hold it longer, and a queue's delay counts in seconds.
const SECONDS_PER_TURN = 1;

/** The slot each run of a concurrency-limited task asks for, in the batch's order; and the runs whose key cannot be computed. */
export function slotsOf(runs: readonly { id: string; task: TaskDefinition<never>; input: unknown }[]) {
	const slots = new Map<string, Slot>();
	const unkeyable = new Map<string, string>();
	const ranks = new Map<string, number>();
	for (const { id, task, input } of runs) {
		const limit = task.concurrencyLimit;
		if (!limit) continue;
		const key = keyOf(limit, input);
		if (typeof key !== "string") {
			unkeyable.set(id, key.failed);
			continue;
		}
		const rank = (ranks.get(slotName(task.name, key)) ?? 0) + 1;
		ranks.set(slotName(task.name, key), rank);
		slots.set(id, { key, limit: limit.limit, rank });
	}
	return { slots, unkeyable };
}

/**
 * How long the `waiter`-th run held back on one key waits before it asks
 * again: its turn at the usual pace, at least a second, and never longer than
 * the task's lease, by which every slot held now has ended.
 */
export function slotWaitSeconds(waiter: number, limit: number, leaseSeconds: number): number {
	const turn = SECONDS_PER_TURN * Math.ceil(waiter / limit);
	return Math.max(1, Math.ceil(Math.min(turn, leaseSeconds)));
}
