// Thin wrappers that count what the Worker asks of Queues, in the units
// Queues bills: every message written (send, sendBatch), read (each delivery,
// the first and every retry) and deleted (acked) is one operation per 64 KB,
// a KB being 1,000 bytes with about 100 bytes of metadata per message.
// https://developers.cloudflare.com/queues/platform/pricing/
// Bench-only: the producer's wrapper sits on the TASKS binding, the
// consumer's on the batch handed to queue().

export interface QueueCounts {
	/** Messages sent (send, or one per message of a sendBatch). */
	sent: number;
	/** Messages handed to queue() in a batch: deliveries, retries included. */
	delivered: number;
	acked: number;
	retried: number;
	/** Billed operations: the same events counted per 64 KB of each message. */
	writeOps: number;
	readOps: number;
	deleteOps: number;
}

export const emptyQueueCounts = (): QueueCounts => ({
	sent: 0,
	delivered: 0,
	acked: 0,
	retried: 0,
	writeOps: 0,
	readOps: 0,
	deleteOps: 0,
});

const OPERATION_BYTES = 64_000;
const METADATA_BYTES = 100;
const encoder = new TextEncoder();

/** Billed operations for one event on a message whose body is `body` (sent as JSON). */
export const operationsOf = (body: unknown): number =>
	Math.max(1, Math.ceil((encoder.encode(JSON.stringify(body) ?? "").length + METADATA_BYTES) / OPERATION_BYTES));

export function countingQueue<Q extends Queue>(queue: Q, counts: QueueCounts): Q {
	return new Proxy(queue, {
		get(target, prop) {
			const value = Reflect.get(target, prop, target);
			if (typeof value !== "function") return value;
			if (prop === "send") {
				return (body: unknown, options?: QueueSendOptions) => {
					counts.sent++;
					counts.writeOps += operationsOf(body);
					return target.send(body, options);
				};
			}
			if (prop === "sendBatch") {
				return (messages: Iterable<MessageSendRequest>, options?: QueueSendBatchOptions) => {
					const all = [...messages];
					counts.sent += all.length;
					for (const message of all) counts.writeOps += operationsOf(message.body);
					return target.sendBatch(all, options);
				};
			}
			return value.bind(target);
		},
	});
}

/** The batch with each message's ack() and retry() counted; its delivery counted now. */
export function countingBatch<B>(batch: MessageBatch<B>, counts: QueueCounts): MessageBatch<B> {
	const ack = (message: Message<B>) => {
		counts.acked++;
		counts.deleteOps += operationsOf(message.body);
	};
	const retry = () => {
		counts.retried++;
	};
	const messages = batch.messages.map((message) => {
		counts.delivered++;
		counts.readOps += operationsOf(message.body);
		return new Proxy(message, {
			get(target, prop) {
				const value = Reflect.get(target, prop, target);
				if (typeof value !== "function") return value;
				if (prop === "ack") {
					return () => {
						ack(target);
						target.ack();
					};
				}
				if (prop === "retry") {
					return (options?: QueueRetryOptions) => {
						retry();
						target.retry(options);
					};
				}
				return value.bind(target);
			},
		});
	});
	return new Proxy(batch, {
		get(target, prop) {
			if (prop === "messages") return messages;
			if (prop === "ackAll") {
				return () => {
					for (const message of target.messages) ack(message);
					target.ackAll();
				};
			}
			if (prop === "retryAll") {
				return (options?: QueueRetryOptions) => {
					for (const _ of target.messages) retry();
					target.retryAll(options);
				};
			}
			const value = Reflect.get(target, prop, target);
			return typeof value === "function" ? value.bind(target) : value;
		},
	});
}
