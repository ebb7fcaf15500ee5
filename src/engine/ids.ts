// Task ids are UUIDv7: random, and ordered by the millisecond they were minted.
// The order keeps D1's primary-key inserts local; the timestamp lets the API
// answer for a task that is on the queue but not yet in the result backend.
import { version as uuidVersion, v7, validate } from "uuid";

export const newTaskId = (): string => v7();

/**
 * A task id as stored: lower case. UUIDs are case-insensitive (Swift's
 * UUID().uuidString is upper case) but D1 compares text exactly, so every id a
 * caller hands the engine is canonicalised first.
 */
export const canonicalId = (id: string): string => id.toLowerCase();

/** When a UUIDv7 task id was minted, or undefined for any other id. */
export function mintedAt(id: string): Date | undefined {
	if (!validate(id) || uuidVersion(id) !== 7) return undefined;
	return new Date(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16));
}

// Clocks of the Worker that minted an id and the one reading it may differ.
const CLOCK_SKEW_MS = 60_000;

/**
 * When `id` was minted, if a task with that id may still be on the queue,
 * unseen by any consumer: a task enqueued without a row has none until it is
 * claimed. Past the queue's retention a missing row means an unknown task (the
 * config keeps results at least that long, so an expired task never reads as
 * PENDING again).
 */
export function unseenSince(id: string, queueRetentionSeconds: number, now = Date.now()): Date | undefined {
	const minted = mintedAt(id);
	if (!minted) return undefined;
	const age = now - minted.getTime();
	return age >= -CLOCK_SKEW_MS && age < queueRetentionSeconds * 1000 ? minted : undefined;
}
