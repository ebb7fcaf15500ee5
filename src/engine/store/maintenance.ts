// The statements behind the engine's maintenance tasks: result expiry and
// stuck-task recovery (builtins/), and the daily counts an app may report.
import { and, count, eq, gte, inArray, isNull, lt, lte, or, type SQL, sql } from "drizzle-orm";
import type { EngineDb } from "../db";
import { type TaskRow, tasks } from "../schema";
import { FINAL_STATES, type TaskState } from "../states";
import { appendHistory } from "./history";
import { transition } from "./tasks";

/**
 * Up to `limit` ids of tasks that finished before `cutoff`, oldest first, read
 * from the partial finished_at index. The status test is a guard (only final
 * states set finished_at); its unary + keeps SQLite from choosing the status
 * index instead, which would read every finished task on each run.
 */
export function expiredTaskIds(db: EngineDb, cutoff: Date, limit: number) {
	return db
		.select({ id: tasks.id })
		.from(tasks)
		.where(
			and(
				lt(tasks.finishedAt, cutoff),
				inArray(sql`+${tasks.status}`, [...FINAL_STATES]),
				// A workflow's step waits for its workflow: a chord still running must
				// find every member's outcome, however long ago one finished.
				sql`(${tasks.workflowId} IS NULL OR NOT EXISTS (SELECT 1 FROM tasks AS sibling
					WHERE sibling.workflow_id = ${tasks.workflowId} AND sibling.status NOT IN ('SUCCESS', 'FAILURE', 'REVOKED')))`,
			),
		)
		.orderBy(tasks.finishedAt)
		.limit(limit);
}

/** Deletes up to `limit` tasks that finished before `cutoff` (their effects go with them: ON DELETE CASCADE). */
export function deleteExpiredTasks(db: EngineDb, cutoff: Date, limit: number) {
	return db
		.delete(tasks)
		.where(inArray(tasks.id, expiredTaskIds(db, cutoff, limit)))
		.returning({ id: tasks.id });
}

export interface StuckQuery {
	now: Date;
	/** PENDING or RETRY tasks untouched since before this are stale. */
	stale: Date;
	/** Tasks enqueued from this instant on may still be on the queue; undefined when it is empty. */
	queueHoldsSince: Date | undefined;
	limit: number;
}

/**
 * Tasks nobody is going to finish: STARTED with an expired lease, or PENDING /
 * RETRY long past due and untouched, whose message the queue cannot still hold.
 */
export function findStuck(db: EngineDb, q: StuckQuery): Promise<TaskRow[]> {
	const since = q.queueHoldsSince;
	// When the task's message was last sent: a PENDING row's updated_at (its
	// enqueue, its release from D1, or recovery's last re-send; a workflow step
	// or a far-off task is sent long after it was created); for RETRY, its
	// creation, as the queue keeps a retried message's first timestamp.
	const pendingNotOnQueue = since ? lt(tasks.updatedAt, since) : undefined;
	const retryNotOnQueue = since ? lt(tasks.createdAt, since) : undefined;
	return db
		.select()
		.from(tasks)
		.where(
			or(
				and(eq(tasks.status, "STARTED"), lte(tasks.leaseExpiresAt, q.now)),
				// A task still owed its first message is release.ts's to send, not lost.
				and(
					eq(tasks.status, "PENDING"),
					lt(tasks.dueAt, q.stale),
					lt(tasks.updatedAt, q.stale),
					isNull(tasks.unsent),
					pendingNotOnQueue,
				),
				and(eq(tasks.status, "RETRY"), lt(tasks.nextAttemptAt, q.stale), lt(tasks.updatedAt, q.stale), retryNotOnQueue),
			),
		)
		.limit(q.limit);
}

export type StuckMove =
	| { task: TaskRow; to: "FAILURE"; error: string }
	| { task: TaskRow; to: "RETRY"; error: string }
	| { task: TaskRow; to: "PENDING" | "RETRY"; resend: true };

/**
 * Applies recovery's moves in one D1 batch (recovery may find hundreds of
 * tasks, and each D1 call is a subrequest). Each move is conditional on the
 * task being as it was read, so a run that claimed it meanwhile is left alone.
 * Returns, per move, the moved row or undefined.
 */
export async function applyStuckMoves(db: EngineDb, moves: readonly StuckMove[], now: Date): Promise<(TaskRow | undefined)[]> {
	const statements = moves.map((move) => {
		const { task } = move;
		const unchanged: SQL | undefined =
			task.status === "STARTED"
				? and(eq(tasks.status, "STARTED"), lte(tasks.leaseExpiresAt, now))
				: and(eq(tasks.status, task.status), eq(tasks.updatedAt, task.updatedAt));
		if ("resend" in move) {
			// PENDING or RETRY whose message was lost: the same state, re-sent.
			return db
				.update(tasks)
				.set({ updatedAt: now, recoveries: sql`${tasks.recoveries} + 1` })
				.where(and(eq(tasks.id, task.id), unchanged))
				.returning();
		}
		if (move.to === "FAILURE") {
			const history = appendHistory({
				attempt: task.attempts,
				at: now,
				status: "FAILURE",
				error: move.error,
				delaySeconds: null,
			});
			const set = { error: move.error, finishedAt: now, leaseExpiresAt: null, nextAttemptAt: null, history };
			return transition(db, task.id, "FAILURE", set, now, unchanged);
		}
		const set = {
			error: move.error,
			nextAttemptAt: now,
			leaseExpiresAt: null,
			recoveries: sql`${tasks.recoveries} + 1`,
			history: appendHistory({ attempt: task.attempts, at: now, status: "RETRY", error: move.error, delaySeconds: 0 }),
		};
		return transition(db, task.id, "RETRY", set, now, unchanged);
	});
	const [first, ...more] = statements;
	const results: TaskRow[][] = first ? await db.batch([first, ...more]) : [];
	return moves.map((_, i) => results[i]?.[0]);
}

/** Tasks created since `since`, counted by name and state, from the (created_at, ...) indexes. */
export function countsSince(db: EngineDb, since: Date): Promise<{ name: string; status: TaskState; n: number }[]> {
	return db
		.select({ name: tasks.name, status: tasks.status, n: count() })
		.from(tasks)
		.where(gte(tasks.createdAt, since))
		.groupBy(tasks.name, tasks.status);
}
