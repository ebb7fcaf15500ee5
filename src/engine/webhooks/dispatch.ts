// Hands finished tasks' webhooks to deliver_webhook tasks: called right after
// an outcome or a revoke is recorded, and by the recovery sweep for whatever
// those missed (a crash in between, a dead letter, a poison message).
import { deliverWebhook } from "../builtins/deliver-webhook";
import { errorMessage } from "../log";
import type { Runtime } from "../runtime";
import { recordDeliveries } from "../store/callbacks";

/** Dispatches the webhooks `taskIds` owe (those without one are skipped); returns how many. */
export async function dispatchWebhooks(rt: Runtime, taskIds: readonly string[]): Promise<number> {
	if (taskIds.length === 0) return 0;
	const candidates = await Promise.all(taskIds.map(async (task) => ({ task, delivery: await rt.ids.mint() })));
	const recorded = await recordDeliveries(rt.db, candidates, deliverWebhook.name, new Date());
	// Recorded PENDING first: if this send fails, stuck-task recovery sends them.
	await rt.producer.send(
		recorded.map(({ task, delivery }) => ({ envelope: { id: delivery, name: deliverWebhook.name, input: { task_id: task } } })),
		"webhooks dispatched",
	);
	return recorded.length;
}

/**
 * dispatchWebhooks after an outcome is already recorded: a failure here must
 * not undo it, so it is logged and left to the recovery sweep.
 */
export async function dispatchSoon(rt: Runtime, taskIds: readonly string[]): Promise<void> {
	try {
		await dispatchWebhooks(rt, taskIds);
	} catch (err) {
		rt.log.warn("webhooks not dispatched; the recovery sweep will", { task_ids: taskIds, error: errorMessage(err) });
	}
}
