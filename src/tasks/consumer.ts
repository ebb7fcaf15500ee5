// The queue() side: Celery's worker. One context per batch; each message is
// handled and acknowledged on its own, so one bad message never holds back the
// rest of its batch.
import { createContext } from "../context";
import { errorMessage } from "../log";
import { execute } from "./execute";

export async function consumeBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
	const ctx = createContext(env, { queue: batch.queue });
	for (const message of batch.messages) {
		try {
			await execute(ctx, message.body);
			message.ack();
		} catch (err) {
			// Not the task failing (that is recorded and acked) but the machinery:
			// D1 unreachable, say. Let the queue deliver it again.
			ctx.log.error("delivery failed", { message_id: message.id, attempts: message.attempts, error: errorMessage(err) });
			message.retry();
		}
	}
}
