// Task ids are UUIDv7: random, and ordered by the millisecond they were minted.
// The order keeps D1's primary-key inserts local; the timestamp lets the API
// answer for a task that is on the queue but not yet in the result backend.
// They are also self-certifying: the last 32 of the random bits are an
// HMAC-SHA256 of the first 12 bytes, keyed by TASK_ID_SECRET, so a well-formed
// id this deployment never minted is told apart from one still on the queue
// (Celery reads every unknown id as PENDING; this does not).
import { parse, stringify, version as uuidVersion, v7, validate } from "uuid";

const SIGNED_BYTES = 12;
const TAG_BYTES = 4;

export interface TaskIds {
	/** A new task id: UUIDv7, its last four bytes a tag of the rest. */
	mint(): Promise<string>;
	/** Whether this deployment minted `id` (its tag verifies). */
	issued(id: string): Promise<boolean>;
}

export function taskIds(secret: string): TaskIds {
	const key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
		"sign",
	]);
	const tagOf = async (bytes: Uint8Array) =>
		new Uint8Array(await crypto.subtle.sign("HMAC", await key, bytes.slice(0, SIGNED_BYTES))).slice(0, TAG_BYTES);
	return {
		async mint() {
			const bytes = v7(undefined, new Uint8Array(16));
			bytes.set(await tagOf(bytes), SIGNED_BYTES);
			return stringify(bytes);
		},
		async issued(id) {
			if (!validate(id) || uuidVersion(id) !== 7) return false;
			const bytes = parse(id);
			const tag = await tagOf(bytes);
			return crypto.subtle.timingSafeEqual(tag, bytes.slice(SIGNED_BYTES));
		},
	};
}

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
