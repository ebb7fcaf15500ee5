// The queue() side: Celery's worker. One context per batch; each message is
// acked or retried on its own, so one bad message never holds back the rest.
// The dead-letter queue is consumed here too, dispatched on batch.queue.
import { type AppContext, createContext } from "../context";
import { errorMessage } from "../log";
import { envelopeSchema } from "./envelope";
import { execute, truncatedBody } from "./execute";
import { type Registry, registry } from "./registry";
import { markFailure } from "./store";

export async function consumeBatch(batch: MessageBatch<unknown>, env: Env, tasks: Registry = registry): Promise<void> {
	const ctx = createContext(env, { queue: batch.queue });
	if (batch.queue === ctx.config.deadLetterQueue) return consumeDeadLetters(ctx, batch);

	for (const message of batch.messages) {
		try {
			const delivery = await execute(ctx, message.body, tasks);
			if (delivery.ack) message.ack();
			else message.retry({ delaySeconds: delivery.delaySeconds });
		} catch (err) {
			// Not the task failing (that is recorded above) but the machinery: D1
			// unreachable, say. Nothing was decided, so the queue delivers it again.
			const delaySeconds = Math.min(300, 2 ** message.attempts);
			ctx.log.error("delivery failed; will be redelivered", {
				message_id: message.id,
				message_attempts: message.attempts,
				delay_seconds: delaySeconds,
				error: errorMessage(err),
			});
			message.retry({ delaySeconds });
		}
	}
}

/**
 * Messages the queue gave up on (max_retries exhausted). Their tasks must not
 * stay PENDING, STARTED or RETRY forever: they fail with reason dead-lettered.
 */
async function consumeDeadLetters(ctx: AppContext, batch: MessageBatch<unknown>): Promise<void> {
	for (const message of batch.messages) {
		const envelope = envelopeSchema.safeParse(message.body);
		if (!envelope.success) {
			ctx.log.error("dead letter is not a task envelope", { message_id: message.id, body: truncatedBody(message.body) });
			message.ack();
			continue;
		}
		const { id, name } = envelope.data;
		try {
			const failed = await markFailure(ctx.db, id, "dead-lettered");
			ctx.log.error("task dead-lettered", {
				task_id: id,
				name,
				marked_failure: failed !== undefined,
				message_attempts: message.attempts,
			});
			message.ack();
		} catch (err) {
			ctx.log.error("dead letter not recorded; will be redelivered", { task_id: id, error: errorMessage(err) });
			message.retry({ delaySeconds: 30 });
		}
	}
}
