// Sends the messages of tasks that were recorded first: a workflow step its
// predecessor released, a task scheduled further ahead than the queue can
// delay a message (MAX_DELAY_SECONDS), an outbox task once the app's batch has
// committed. Each is sent once it is due within the queue's delay limit, with
// the delay left, so it runs to the second however far ahead it was set.
// The consumer and the outbox call this at once; the release_due_tasks
// built-in sweeps every minute for what they missed.
import type { Json } from "./define";
import { MAX_DELAY_SECONDS, MAX_MESSAGE_BYTES } from "./limits";
import { errorMessage } from "./log";
import { bytesOf, sendBatches } from "./queue";
import type { Runtime } from "./runtime";
import { giveBack, type OwedFilter, takeOwed } from "./store/release";
import { failNow } from "./store/tasks";

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
	const all = owed
		.filter((task) => task.status === "PENDING")
		.map((task) => {
			const envelope = { id: task.id, name: task.name, input: task.payload };
			const delaySeconds = Math.max(0, Math.ceil((task.dueAt.getTime() - now.getTime()) / 1000));
			return { envelope, delaySeconds, bytes: bytesOf(envelope) };
		});
	// A step whose input grew past a message when what came before was filled
	// in (a large result, a chord of many members) can never be sent: it fails,
	// which ends its workflow, instead of blocking every sweep after it.
	const tooLarge = all.filter((m) => m.bytes > MAX_MESSAGE_BYTES);
	if (tooLarge.length > 0) {
		await failNow(
			rt.db,
			tooLarge.map((m) => ({
				id: m.envelope.id,
				name: m.envelope.name,
				payload: m.envelope.input as Json,
				enqueuedAt: now,
				error: `input too large for a queue message once filled in: ${m.bytes} bytes, at most ${MAX_MESSAGE_BYTES}`,
			})),
			now,
		);
	}
	const messages = all.filter((m) => m.bytes <= MAX_MESSAGE_BYTES);
	let sent = 0;
	// Part by part (one sendBatch each), so that a refused part gives back
	// only itself and what follows: nothing already on the queue is sent again.
	for (const part of sendBatches(
		messages,
		messages.map((m) => m.bytes),
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
