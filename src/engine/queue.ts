// Messages on the task queue: their size in bytes, checked before anything is
// written, and sendBatch calls cut within Queues' count and size limits.
import type { Envelope } from "./envelope";
import { InputTooLargeError } from "./errors";
import { MAX_BATCH_BYTES, MAX_BATCH_MESSAGES, MAX_MESSAGE_BYTES } from "./limits";

const utf8 = new TextEncoder();

/** An envelope's size on the queue: its JSON in UTF-8 bytes. */
export const bytesOf = (envelope: Envelope): number => utf8.encode(JSON.stringify(envelope)).length;

/** The envelopes' sizes; InputTooLargeError, before anything is written, if any would not fit in a message. */
export function checkSizes(envelopes: readonly Envelope[]): number[] {
	const sizes = envelopes.map(bytesOf);
	const tooLarge = sizes.flatMap((size, index) => (size > MAX_MESSAGE_BYTES ? [{ index, bytes: size }] : []));
	if (tooLarge.length > 0) {
		throw new InputTooLargeError(
			`A task's input must fit in a queue message: at most ${MAX_MESSAGE_BYTES} bytes as JSON`,
			envelopes.length === 1 ? { bytes: tooLarge[0]?.bytes } : { too_large: tooLarge },
		);
	}
	return sizes;
}

/** Splits items (whose queue sizes are `sizes`) into sendBatch calls within Queues' count and size limits. */
export function* sendBatches<T>(items: readonly T[], sizes: readonly number[]): Generator<T[]> {
	let part: T[] = [];
	let bytes = 0;
	for (const [i, item] of items.entries()) {
		const size = sizes[i] ?? 0;
		if (part.length === MAX_BATCH_MESSAGES || (part.length > 0 && bytes + size > MAX_BATCH_BYTES)) {
			yield part;
			part = [];
			bytes = 0;
		}
		part.push(item);
		bytes += size;
	}
	if (part.length > 0) yield part;
}
