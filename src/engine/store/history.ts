// A task's failed attempts, for its timeline: created, started and finished
// come from their own columns, the rest from here. Each entry is appended by
// the very UPDATE that moves the task to RETRY or FAILURE, as a SQL fragment,
// so recording it costs no extra statement or round trip.
import { type SQL, sql } from "drizzle-orm";
import { type HistoryEntry, tasks } from "../schema";

type Value<T> = T | SQL;

/**
 * The new value of `history` with one entry appended:
 * `.set({ history: appendHistory({ ... }) })`. Any field may be SQL instead of
 * a value, e.g. `attempt: sql\`${tasks.attempts}\`` in a statement that
 * updates many rows. Binds at most three parameters (attempt, at, error);
 * status and a null delay are written inline.
 */
export function appendHistory(entry: {
	attempt: Value<number>;
	at: Value<number> | Date;
	status: HistoryEntry["status"];
	error: Value<string>;
	delaySeconds: Value<number> | null;
}): SQL {
	const at = entry.at instanceof Date ? entry.at.getTime() : entry.at;
	const delay = entry.delaySeconds ?? sql.raw("null");
	// status is one of two literals, never user input.
	const status = sql.raw(`'${entry.status}'`);
	return sql`json_insert(${tasks.history}, '$[#]', json_object('attempt', ${entry.attempt}, 'at', ${at}, 'status', ${status}, 'error', ${entry.error}, 'delaySeconds', ${delay}))`;
}
