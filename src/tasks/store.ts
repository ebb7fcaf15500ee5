// The result backend: every read and write of the tasks table goes through here,
// and every state change through transition(), which enforces TRANSITIONS.
import { and, eq, inArray, lte, ne, or, type SQL, sql } from "drizzle-orm";
import type { SQLiteUpdateSetSource } from "drizzle-orm/sqlite-core";
import type { Database } from "../db/client";
import { type TaskRow, taskEffects, tasks } from "../db/schema";
import type { Json } from "./define";
import { appendHistory } from "./history";
import { sourcesOf, type TaskState } from "./states";

type TaskUpdate = Omit<SQLiteUpdateSetSource<typeof tasks>, "id" | "status">;

export interface NewTask {
	id: string;
	name: string;
	payload: Json;
	dueAt?: Date | null;
	retryOf?: string | null;
}

const pendingRow = (task: NewTask, now: Date) => ({
	id: task.id,
	name: task.name,
	payload: task.payload,
	status: "PENDING" as const,
	createdAt: now,
	updatedAt: now,
	dueAt: task.dueAt ?? now,
	retryOf: task.retryOf ?? null,
});

export function insertPending(db: Database, task: NewTask, now = new Date()) {
	return db.insert(tasks).values(pendingRow(task, now));
}

/** Inserts for many tasks, each within D1's bound-parameter limit; run them in one db.batch. */
export function insertPendingMany(db: Database, list: NewTask[], now = new Date()) {
	const [sample] = list;
	if (!sample) return [];
	// D1 binds at most 100 parameters per statement. drizzle binds one for each
	// value a row sets and each plain default, none for a default written in SQL
	// (history's), so the count comes from drizzle itself rather than the columns.
	const paramsPerRow = db.insert(tasks).values(pendingRow(sample, now)).toSQL().params.length;
	const rowsPerInsert = Math.max(1, Math.floor(100 / paramsPerRow));
	return chunk(list, rowsPerInsert).map((part) => db.insert(tasks).values(part.map((task) => pendingRow(task, now))));
}

export function chunk<T>(list: readonly T[], size: number): T[][] {
	const parts: T[][] = [];
	for (let i = 0; i < list.length; i += size) parts.push(list.slice(i, i + size));
	return parts;
}

export async function getTask(db: Database, id: string): Promise<TaskRow | undefined> {
	return db.select().from(tasks).where(eq(tasks.id, id)).get();
}

/**
 * Moves task `id` to `to` if its current state allows it (and `also` holds),
 * in one conditional UPDATE. Returns the updated row, or undefined when the
 * move was not allowed: concurrent writers cannot both win.
 */
export function transition(db: Database, id: string, to: TaskState, set: TaskUpdate, now: Date, also?: SQL) {
	return db
		.update(tasks)
		.set({ ...set, status: to, updatedAt: now })
		.where(and(eq(tasks.id, id), inArray(tasks.status, sourcesOf(to)), also))
		.returning();
}

const first = async <T>(rows: Promise<T[]>): Promise<T | undefined> => (await rows)[0];

/**
 * Claims a task for one run: PENDING or RETRY, or STARTED whose holder's lease
 * has expired, becomes STARTED with a fresh lease and attempts + 1.
 */
export function claim(db: Database, id: string, leaseSeconds: number, now = new Date()) {
	return first(
		transition(
			db,
			id,
			"STARTED",
			{
				attempts: sql`${tasks.attempts} + 1`,
				startedAt: now,
				leaseExpiresAt: new Date(now.getTime() + leaseSeconds * 1000),
				nextAttemptAt: null,
			},
			now,
			or(ne(tasks.status, "STARTED"), lte(tasks.leaseExpiresAt, now)),
		),
	);
}

// `attempts` fences the finishing writes: a run whose lease expired and whose
// task was claimed again cannot overwrite the newer run's outcome.
const heldBy = (attempt: number) => eq(tasks.attempts, attempt);

export function markSuccess(db: Database, id: string, attempt: number, result: Json, now = new Date()) {
	return first(
		transition(db, id, "SUCCESS", { result, error: null, finishedAt: now, leaseExpiresAt: null }, now, heldBy(attempt)),
	);
}

export function markRetry(db: Database, id: string, attempt: number, error: string, nextAttemptAt: Date, now = new Date()) {
	const delaySeconds = Math.max(0, Math.round((nextAttemptAt.getTime() - now.getTime()) / 1000));
	const history = appendHistory({ attempt, at: now, status: "RETRY", error, delaySeconds });
	return first(transition(db, id, "RETRY", { error, nextAttemptAt, leaseExpiresAt: null, history }, now, heldBy(attempt)));
}

/** A failed run (fenced by its attempt) or, without one, any unfinished task. */
export function markFailure(db: Database, id: string, error: string, now = new Date(), attempt?: number) {
	return first(
		transition(
			db,
			id,
			"FAILURE",
			{
				error,
				finishedAt: now,
				leaseExpiresAt: null,
				nextAttemptAt: null,
				history: appendHistory({
					attempt: attempt ?? sql`${tasks.attempts}`,
					at: now,
					status: "FAILURE",
					error,
					delaySeconds: null,
				}),
			},
			now,
			attempt === undefined ? undefined : heldBy(attempt),
		),
	);
}

/** Fails many unfinished tasks at once, e.g. those whose messages were never sent. */
export function markManyFailed(db: Database, ids: string[], error: string, now = new Date()) {
	// 90 ids, 4 SET values, 2 history values and 3 allowed source states: 99,
	// within D1's 100 bound parameters per statement.
	const history = appendHistory({ attempt: sql`${tasks.attempts}`, at: now, status: "FAILURE", error, delaySeconds: null });
	return chunk(ids, 90).map((part) =>
		db
			.update(tasks)
			.set({ status: "FAILURE", error, finishedAt: now, updatedAt: now, history })
			.where(and(inArray(tasks.id, part), inArray(tasks.status, sourcesOf("FAILURE")))),
	);
}

export async function getEffect(db: Database, taskId: string, key: string): Promise<Json | undefined> {
	const row = await db
		.select({ value: taskEffects.value })
		.from(taskEffects)
		.where(and(eq(taskEffects.taskId, taskId), eq(taskEffects.key, key)))
		.get();
	return row?.value as Json | undefined;
}

export function recordEffect(db: Database, taskId: string, key: string, value: Json, now = new Date()) {
	return db.insert(taskEffects).values({ taskId, key, value, recordedAt: now }).onConflictDoNothing();
}

/** Revokes a task that has not started: the consumer will ack its message without running it. */
export function revoke(db: Database, id: string, now = new Date()) {
	return first(transition(db, id, "REVOKED", { finishedAt: now, nextAttemptAt: null, error: "revoked" }, now));
}
