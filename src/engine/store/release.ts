// Tasks recorded before their message is sent (schema.ts: tasks.unsent). Taking
// one to send clears the flag in the same statement that reads it, so two
// senders (the consumer right after an outcome, the outbox's own send, the
// release sweep) never both send a task's message.
import type { EngineDb } from "../db";
import type { Json } from "../define";
import type { TaskState } from "../states";

const TAKE = `
	UPDATE tasks SET unsent = NULL, updated_at = ?2
	WHERE id IN (
		SELECT id FROM tasks
		WHERE unsent = 1 AND due_at <= ?1
			AND (?3 IS NULL OR id IN (SELECT value FROM json_each(?3)))
			AND (?4 IS NULL OR workflow_id IN (SELECT value FROM json_each(?4)))
		ORDER BY due_at LIMIT ?5)
	RETURNING id, name, payload, due_at, status`;

export interface Owed {
	id: string;
	name: string;
	payload: Json;
	dueAt: Date;
	status: TaskState;
}

export interface OwedFilter {
	/** Only these tasks. */
	ids?: readonly string[];
	/** Only steps of these workflows. */
	workflows?: readonly string[];
	limit: number;
}

/** Takes the owed messages of tasks due by `horizon` (as `filter` narrows them), oldest due first. */
export async function takeOwed(db: EngineDb, horizon: Date, now: Date, filter: OwedFilter): Promise<Owed[]> {
	const list = (values?: readonly string[]) => (values ? JSON.stringify(values) : null);
	const { results } = await db.$client
		.prepare(TAKE)
		.bind(horizon.getTime(), now.getTime(), list(filter.ids), list(filter.workflows), filter.limit)
		.all<{ id: string; name: string; payload: string; due_at: number; status: TaskState }>();
	return results.map((row) => ({
		id: row.id,
		name: row.name,
		payload: JSON.parse(row.payload) as Json,
		dueAt: new Date(row.due_at),
		status: row.status,
	}));
}

/** Gives back messages taken but not sent (the queue refused them), for the next sweep. */
export async function giveBack(db: EngineDb, ids: readonly string[]): Promise<void> {
	await db.$client
		.prepare("UPDATE tasks SET unsent = 1 WHERE id IN (SELECT value FROM json_each(?1)) AND +status = 'PENDING'")
		.bind(JSON.stringify(ids))
		.run();
}
