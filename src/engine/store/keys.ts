// Idempotency keys: one key, one request (one task, or a bulk request's
// tasks), until it expires. The key is claimed in the same D1 transaction that
// records the request's tasks, so two requests with one key cannot both
// enqueue. A key is "sending" until its messages are on the queue: a replay
// then must wait, since the send may still fail and the task never run.
import { and, eq, inArray, like, lt, lte, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { EngineDb } from "../db";
import type { Json } from "../define";
import { IdempotencyKeyInFlightError, IdempotencyKeyReusedError } from "../errors";
import { idempotencyKeys, tasks } from "../schema";
import { ENQUEUE_FAILED, insertPendingMany, type NewTask } from "./tasks";

/**
 * How long a send may take before a key still "sending" is taken as sent: past
 * it, the request that claimed the key has died or finished, and its tasks are
 * recorded, so a missing message is sent by stuck-task recovery.
 */
export const SEND_GRACE_SECONDS = 60;

export interface KeyedRequest {
	name: string;
	rows: NewTask[];
	/** A bulk request: its fingerprint and its ids are those of every row. */
	bulk?: boolean;
	/** What else the request said that a replay must repeat (its schedule), as it was sent. */
	covers?: { [field: string]: Json | undefined } | undefined;
	/** What the fingerprint hashes, if not the rows' payloads (a bulk request of mixed tasks: names and inputs). */
	described?: Json;
	/** More to write in the same transaction as the rows (a workflow's own row). */
	also?: readonly BatchItem<"sqlite">[];
}

export type KeyRow = typeof idempotencyKeys.$inferSelect;

/**
 * Records the request's tasks and claims the key ("sending") in one D1
 * transaction. If the key is taken (and not expired) nothing is written and
 * the earlier request's key row is returned once it was sent;
 * IdempotencyKeyReusedError if it was for different work, and
 * IdempotencyKeyInFlightError while it is still sending. A key left
 * "sending" by a send that failed (its release failed too) is released here,
 * and this request claims it anew.
 */
export async function recordWithKey(
	db: EngineDb,
	request: KeyedRequest,
	key: string,
	now: Date,
	ttlSeconds: number,
	reclaim = true,
): Promise<KeyRow | undefined> {
	const { name, rows, bulk = false, covers, described, also = [] } = request;
	const [first] = rows;
	if (!first) throw new Error("recordWithKey needs at least one task");
	const fingerprint = bulk
		? await fingerprintOf(`${name}[]`, described ?? rows.map((row) => row.payload), covers)
		: await fingerprintOf(name, first.payload, covers);
	try {
		await db.batch([
			db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.key, key), lte(idempotencyKeys.expiresAt, now))),
			...also,
			...insertPendingMany(db, rows, now),
			db.insert(idempotencyKeys).values({
				key,
				fingerprint,
				taskId: first.id,
				taskIds: bulk ? rows.map((row) => row.id) : null,
				state: "sending",
				createdAt: now,
				expiresAt: new Date(now.getTime() + ttlSeconds * 1000),
			}),
		]);
		return undefined;
	} catch (err) {
		if (!isUniqueViolation(err)) throw err;
	}
	const earlier = await db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, key)).get();
	if (!earlier) throw new IdempotencyKeyInFlightError();
	if (earlier.fingerprint !== fingerprint) throw new IdempotencyKeyReusedError();
	if (earlier.state === "sent") return earlier;
	const ids = earlier.taskIds ?? [earlier.taskId];
	if (reclaim && (await neverSent(db, ids)).size === ids.length) {
		// Its send failed and every task is FAILURE, but the key was not released.
		await db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.key, key), eq(idempotencyKeys.state, "sending")));
		return recordWithKey(db, request, key, now, ttlSeconds, false);
	}
	if (now.getTime() - earlier.createdAt.getTime() < SEND_GRACE_SECONDS * 1000) throw new IdempotencyKeyInFlightError(1);
	await markSent(db, key);
	return earlier;
}

/** The key's messages are on the queue (or its outcome is settled): replays may answer from it. */
export async function markSent(db: EngineDb, key: string): Promise<void> {
	await db.update(idempotencyKeys).set({ state: "sent" }).where(eq(idempotencyKeys.key, key));
}

/** Forgets a key, so that a retry with it enqueues anew. */
export async function releaseKey(db: EngineDb, key: string): Promise<void> {
	await db.delete(idempotencyKeys).where(eq(idempotencyKeys.key, key));
}

/** Of these task ids, those that failed because their message never reached the queue. */
export async function neverSent(db: EngineDb, ids: readonly string[]): Promise<Set<string>> {
	const rows = await db
		.select({ id: tasks.id })
		.from(tasks)
		.where(
			and(
				sql`${tasks.id} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`,
				eq(tasks.status, "FAILURE"),
				like(tasks.error, `${ENQUEUE_FAILED}%`),
			),
		);
	return new Set(rows.map((row) => row.id));
}

/** Deletes up to `limit` keys that expired before `now`; returns the deleted keys. */
export function deleteExpiredKeys(db: EngineDb, now: Date, limit: number) {
	return db
		.delete(idempotencyKeys)
		.where(
			inArray(
				idempotencyKeys.key,
				db.select({ key: idempotencyKeys.key }).from(idempotencyKeys).where(lt(idempotencyKeys.expiresAt, now)).limit(limit),
			),
		)
		.returning({ key: idempotencyKeys.key });
}

async function fingerprintOf(name: string, payload: Json, covers: KeyedRequest["covers"] = {}): Promise<string> {
	// Without a schedule the text is what it was before schedules were covered,
	// so keys recorded then still replay.
	const given = Object.values(covers).some((value) => value !== undefined);
	const text = `${name}\n${JSON.stringify(payload)}${given ? `\n${JSON.stringify(covers)}` : ""}`;
	const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
	return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function isUniqueViolation(err: unknown): boolean {
	for (let e: unknown = err; e instanceof Error; e = e.cause) {
		if (e.message.includes("UNIQUE constraint failed")) return true;
	}
	return false;
}
