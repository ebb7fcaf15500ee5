// The queue() side: Celery's worker. One scope per batch, and the batch is
// decided as a whole (see execute.ts); each message is then acked or retried
// on its own, so one bad message never holds back the rest. The dead-letter
// queue is consumed here too, dispatched on batch.queue.
import { envelopeSchema } from "./envelope";
import { executeBatch, type Scope, truncatedBody } from "./execute";
import { DEFAULT_MAX_RETRIES } from "./limits";
import { errorMessage } from "./log";
import type { Runtime } from "./runtime";
import { failNow, type Unrunnable } from "./store/tasks";
import { dispatchSoon } from "./webhooks/dispatch";

export async function consumeBatch<Ctx>(batch: MessageBatch<unknown>, scope: Scope<Ctx>): Promise<void> {
	const { rt } = scope;
	if (batch.queue === rt.config.deadLetterQueue) return consumeDeadLetters(rt, batch);

	try {
		const decisions = await executeBatch(
			scope,
			batch.messages.map((message) => ({ body: message.body, enqueuedAt: message.timestamp })),
		);
		const resend: { message: Message<unknown>; delaySeconds: number }[] = [];
		batch.messages.forEach((message, i) => {
			const decision = decisions[i];
			if (!decision || decision.ack) message.ack();
			else if (decision.outcome === "waiting" && message.attempts >= RESEND_WAITING_AFTER) {
				resend.push({ message, delaySeconds: decision.delaySeconds });
			} else message.retry({ delaySeconds: decision.delaySeconds });
		});
		if (resend.length > 0) await resendWaiting(rt, resend);
	} catch (err) {
		// Not a task failing (that is recorded) but the machinery: D1
		// unreachable, say. Nothing was decided, so the queue delivers the batch
		// again; claims are atomic and effects recorded, so nothing runs twice.
		for (const message of batch.messages) {
			const delaySeconds = Math.min(300, 2 ** message.attempts);
			rt.log.error("delivery failed; will be redelivered", {
				message_id: message.id,
				message_attempts: message.attempts,
				delay_seconds: delaySeconds,
				error: errorMessage(err),
			});
			message.retry({ delaySeconds });
		}
	}
}

// A wait for a flow limit is not a failure, but every retry of a message counts
// towards the queue's max_retries, past which it is dead-lettered. A message
// that has been delivered this often goes back to the queue as a fresh copy
// instead, with its count at zero: safe under any max_retries, even the default.
const RESEND_WAITING_AFTER = DEFAULT_MAX_RETRIES;

async function resendWaiting(rt: Runtime, waiting: { message: Message<unknown>; delaySeconds: number }[]): Promise<void> {
	try {
		await rt.producer.send(
			waiting.map(({ message, delaySeconds }) => ({ envelope: envelopeSchema.parse(message.body), delaySeconds })),
			"waiting tasks sent again",
		);
		for (const { message } of waiting) message.ack();
	} catch (err) {
		rt.log.warn("could not send waiting tasks again; their messages are retried", { error: errorMessage(err) });
		for (const { message, delaySeconds } of waiting) message.retry({ delaySeconds });
	}
}

/**
 * Messages the queue gave up on (max_retries exhausted). Their tasks must not
 * stay PENDING, STARTED or RETRY forever, nor stay unrecorded: they fail with
 * reason dead-lettered, in one statement for the batch.
 */
async function consumeDeadLetters(rt: Runtime, batch: MessageBatch<unknown>): Promise<void> {
	const dead: { message: Message<unknown>; task: Unrunnable }[] = [];
	for (const message of batch.messages) {
		const envelope = envelopeSchema.safeParse(message.body);
		if (!envelope.success) {
			rt.log.error("dead letter is not a task envelope", { message_id: message.id, body: truncatedBody(message.body) });
			message.ack();
			continue;
		}
		const { id, name, input } = envelope.data;
		dead.push({
			message,
			task: {
				id,
				name,
				payload: JSON.parse(JSON.stringify(input ?? null)),
				enqueuedAt: message.timestamp,
				error: "dead-lettered",
			},
		});
	}
	if (dead.length === 0) return;
	try {
		const failed = await failNow(
			rt.db,
			dead.map((d) => d.task),
		);
		for (const { message, task } of dead) {
			rt.log.error("task dead-lettered", {
				task_id: task.id,
				name: task.name,
				marked_failure: failed.has(task.id),
				message_attempts: message.attempts,
			});
			message.ack();
		}
		await dispatchSoon(rt, [...failed]);
	} catch (err) {
		rt.log.error("dead letters not recorded; will be redelivered", { count: dead.length, error: errorMessage(err) });
		for (const { message } of dead) message.retry({ delaySeconds: 30 });
	}
}
