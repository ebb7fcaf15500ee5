// The result backend: every read and write of the tasks table goes through here.
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { type TaskRow, tasks } from "../db/schema";
import type { Json } from "./define";
import { RUNNABLE_STATES } from "./states";

export function insertPending(db: Database, task: { id: string; name: string; payload: Json }, now = new Date()) {
	return db.insert(tasks).values({ ...task, status: "PENDING", createdAt: now, updatedAt: now });
}

export async function getTask(db: Database, id: string): Promise<TaskRow | undefined> {
	return db.select().from(tasks).where(eq(tasks.id, id)).get();
}

/**
 * Moves a runnable task to STARTED and counts the attempt, atomically: of two
 * deliveries racing for the same task, exactly one gets the row back.
 */
export async function claim(db: Database, id: string, now = new Date()): Promise<TaskRow | undefined> {
	const [row] = await db
		.update(tasks)
		.set({ status: "STARTED", attempts: sql`${tasks.attempts} + 1`, startedAt: now, updatedAt: now })
		.where(and(eq(tasks.id, id), inArray(tasks.status, [...RUNNABLE_STATES])))
		.returning();
	return row;
}

export async function markSuccess(db: Database, id: string, result: Json, now = new Date()) {
	const [row] = await db
		.update(tasks)
		.set({ status: "SUCCESS", result, error: null, finishedAt: now, updatedAt: now })
		.where(and(eq(tasks.id, id), eq(tasks.status, "STARTED")))
		.returning();
	return row;
}

/** Final failure. Only an unfinished task can fail: a final state never changes. */
export async function markFailure(db: Database, id: string, error: string, now = new Date()) {
	const [row] = await db
		.update(tasks)
		.set({ status: "FAILURE", error, finishedAt: now, updatedAt: now })
		.where(and(eq(tasks.id, id), inArray(tasks.status, ["PENDING", "STARTED", "RETRY"])))
		.returning();
	return row;
}
