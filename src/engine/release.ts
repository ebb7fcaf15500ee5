// Sends the messages of tasks that were recorded first: a workflow step its
// predecessor released, a task scheduled further ahead than the queue can
// delay a message (MAX_DELAY_SECONDS), an outbox task once the app's batch has
// committed. Each is sent once it is due within the queue's delay limit, with
// the delay left, so it runs to the second however far ahead it was set.
// The consumer and the outbox call this at once; the release_due_tasks
// built-in sweeps every minute for what they missed.
import { MAX_DELAY_SECONDS } from "./limits";
import { errorMessage } from "./log";
import { bytesOf, sendBatches } from "./queue";
import type { Runtime } from "./runtime";
import { giveBack, type OwedFilter, takeOwed } from "./store/release";

/** How many one call sends at most: a sweep that finds more leaves them to the next. */
export const RELEASE_LIMIT = 500;

/** Sends what is owed and due within the queue's delay limit; returns how many were sent. */
export async function releaseDue(rt: Runtime, filter: Partial<OwedFilter> = {}): Promise<number> {
	const now = new Date();
	const owed = await takeOwed(rt.db, new Date(now.getTime() + MAX_DELAY_SECONDS * 1000), now, {
		limit: RELEASE_LIMIT,
		...filter,
	});
	// A task revoked meanwhile is owed nothing: taking it only cleared its flag.
	const messages = owed
		.filter((task) => task.status === "PENDING")
		.map((task) => ({
			envelope: { id: task.id, name: task.name, input: task.payload },
			delaySeconds: Math.max(0, Math.ceil((task.dueAt.getTime() - now.getTime()) / 1000)),
		}));
	let sent = 0;
	// Part by part (one sendBatch each), so that a refused part gives back
	// only itself and what follows: nothing already on the queue is sent again.
	for (const part of sendBatches(
		messages,
		messages.map((m) => bytesOf(m.envelope)),
	)) {
		try {
			await rt.producer.send(part, "tasks released");
		} catch (err) {
			await giveBack(
				rt.db,
				messages.slice(sent).map((m) => m.envelope.id),
			).catch(() => undefined);
			throw err;
		}
		sent += part.length;
	}
	return sent;
}

/** releaseDue after an outcome is recorded: a failure is logged and left to the sweep. */
export async function releaseSoon(rt: Runtime, filter: Partial<OwedFilter>): Promise<void> {
	try {
		await releaseDue(rt, filter);
	} catch (err) {
		rt.log.warn("released tasks not sent; the release sweep will", { error: errorMessage(err) });
	}
}
