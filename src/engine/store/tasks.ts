// The result backend's task rows: claims, outcomes, failures and revokes. Every
// statement on the engine's tables lives under store/, and every state change
// goes through transition() or a statement guarded by sourcesOf(), which
// enforce TRANSITIONS.
import { and, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { SQLiteUpdateSetSource } from "drizzle-orm/sqlite-core";
import type { EngineDb } from "../db";
import type { Json } from "../define";
import { MAX_BOUND_PARAMETERS } from "../limits";
import { type TaskRow, tasks } from "../schema";
import { sourcesOf, type TaskState } from "../states";
import { appendHistory } from "./history";

type TaskUpdate = Omit<SQLiteUpdateSetSource<typeof tasks>, "id" | "status">;

export interface NewTask {
	id: string;
	name: string;
	payload: Json;
	/** When it is due: now if undefined; null for a workflow step waiting its turn. */
	dueAt?: Date | null;
	retryOf?: string | null;
	callbackUrl?: string | null;
	/** Recorded without a message: release.ts sends it when it is due. */
	unsent?: boolean;
	workflowId?: string | null;
	workflowStep?: number | null;
	resultAs?: string | null;
}

const pendingRow = (task: NewTask, now: Date) => ({
	id: task.id,
	name: task.name,
	payload: task.payload,
	status: "PENDING" as const,
	createdAt: now,
	updatedAt: now,
	dueAt: task.dueAt === undefined ? now : task.dueAt,
	retryOf: task.retryOf ?? null,
	callbackUrl: task.callbackUrl ?? null,
	unsent: task.unsent ? true : null,
	workflowId: task.workflowId ?? null,
	workflowStep: task.workflowStep ?? null,
	resultAs: task.resultAs ?? null,
});

export function insertPending(db: EngineDb, task: NewTask, now = new Date()) {
	return db.insert(tasks).values(pendingRow(task, now));
}

/** Inserts for many tasks, each within D1's bound-parameter limit; run them in one db.batch. */
export function insertPendingMany(db: EngineDb, list: NewTask[], now = new Date()) {
	const [sample] = list;
	if (!sample) return [];
	// drizzle binds one parameter for each value a row sets and each plain
	// default, none for a default written in SQL (history's), so the count comes
	// from drizzle itself rather than the columns.
	const paramsPerRow = db.insert(tasks).values(pendingRow(sample, now)).toSQL().params.length;
	const rowsPerInsert = Math.max(1, Math.floor(MAX_BOUND_PARAMETERS / paramsPerRow));
	return chunk(list, rowsPerInsert).map((part) => db.insert(tasks).values(part.map((task) => pendingRow(task, now))));
}

export function chunk<T>(list: readonly T[], size: number): T[][] {
	const parts: T[][] = [];
	for (let i = 0; i < list.length; i += size) parts.push(list.slice(i, i + size));
	return parts;
}

export async function getTask(db: EngineDb, id: string): Promise<TaskRow | undefined> {
	return db.select().from(tasks).where(eq(tasks.id, id)).get();
}

/**
 * Moves task `id` to `to` if its current state allows it (and `also` holds),
 * in one conditional UPDATE. Returns the updated row, or undefined when the
 * move was not allowed: concurrent writers cannot both win.
 */
export function transition(db: EngineDb, id: string, to: TaskState, set: TaskUpdate, now: Date, also?: SQL) {
	return db
		.update(tasks)
		.set({ ...set, status: to, updatedAt: now })
		.where(and(eq(tasks.id, id), inArray(tasks.status, sourcesOf(to)), also))
		.returning();
}

const first = async <T>(rows: Promise<T[]>): Promise<T | undefined> => (await rows)[0];

/** Fails any unfinished task. */
export function markFailure(db: EngineDb, id: string, error: string, now = new Date()) {
	const history = appendHistory({ attempt: sql`${tasks.attempts}`, at: now, status: "FAILURE", error, delaySeconds: null });
	return first(
		transition(db, id, "FAILURE", { error, finishedAt: now, leaseExpiresAt: null, nextAttemptAt: null, history }, now),
	);
}

/** Revokes tasks recorded but never sent (a request whose send failed): nothing will run them. */
export async function revokeHeld(db: EngineDb, ids: readonly string[], now: Date): Promise<void> {
	await db
		.update(tasks)
		.set({ status: "REVOKED", finishedAt: now, updatedAt: now, error: "revoked: its request was not enqueued", unsent: null })
		.where(and(idIn(ids), eq(tasks.status, "PENDING")));
}

/** A debounced task that a later enqueue replaced, if it has not started: REVOKED, naming the replacement. */
export function revokeReplaced(db: EngineDb, id: string, by: string, now: Date) {
	const error = `debounced: replaced by ${by}`;
	return first(transition(db, id, "REVOKED", { finishedAt: now, nextAttemptAt: null, error, unsent: null, waiting: null }, now));
}

/** `tasks.id` in `ids`, however many: one JSON parameter, within D1's limit of 100 bound parameters. */
export const idIn = (ids: readonly string[]) => sql`${tasks.id} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`;

/** Revokes a task that has not started: the consumer will ack its message without running it, and none is owed any more. */
export function revoke(db: EngineDb, id: string, now = new Date()) {
	return first(
		transition(db, id, "REVOKED", { finishedAt: now, nextAttemptAt: null, error: "revoked", unsent: null, waiting: null }, now),
	);
}

// Batch-level statements. A consumed batch costs a constant number of D1 round
// trips whatever its size: the ids and per-task values travel as one JSON
// parameter read with json_each, so no statement nears D1's limit of 100 bound
// parameters, and every state change still only leaves the states TRANSITIONS
// allows. They are written against the D1 binding itself: drizzle cannot batch
// a raw statement that has parameters.

/** A statement for the D1 binding's batch(). */
export type BatchStatement = D1PreparedStatement;

const inList = (states: readonly TaskState[]) => states.map((s) => `'${s}'`).join(", ");
const ms = (date: Date) => date.getTime();
const rows = <T>(result: D1Result | undefined) => (result?.results ?? []) as T[];

export interface ClaimRequest {
	id: string;
	name: string;
	payload: Json;
	/** When the message was sent: the row's created_at if this claim creates it. */
	enqueuedAt: Date;
	leaseSeconds: number;
	/** How many runs the task may have: a STARTED task that has had them all is not claimed again. */
	maxAttempts: number;
	/** When a rate limiter admitted the run, if one did: the start its window counted. */
	admittedAt?: number | undefined;
	/**
	 * For a run under a concurrency limit: the key whose slot it takes, the
	 * limit, and its place among this batch's runs of that task and key (1 for
	 * the first). It is claimed only if a slot is free for it.
	 */
	slot?: { key: string; limit: number; rank: number } | undefined;
}

export interface TaskStatus {
	status: TaskState;
	attempts: number;
	leaseExpiresAt: Date | null;
	/** The task has a completion webhook to dispatch once it is final. */
	hasCallback: boolean;
	/** The workflow it is a step of, which its outcome may move on. */
	workflowId: string | null;
}

export interface Claims {
	/** Claimed task id -> the attempt this delivery runs. */
	claimed: Map<string, number>;
	/** Every requested task's state after the claim (for those not claimed: why). */
	current: Map<string, TaskStatus>;
	/** Side effects already recorded for the requested tasks (TaskInfo.once). */
	effects: Map<string, Map<string, Json>>;
}

// The comments stay out of the SQL, which the bundle carries as written.
// - A run under a concurrency limit needs a slot of its key: the runs of its
//   task holding one now, and this batch's runs ranked ahead of it, must leave
//   one free. SQLite evaluates every row against the table as it was before
//   the statement (it reads the table it inserts into), so the rank counts the
//   batch's own.
// - A run whose consumer died on the task's last attempt left it STARTED: once
//   its lease ends it is abandoned, not run once more than allowed.
const CLAIM = `
	INSERT INTO tasks (id, name, payload, status, attempts, created_at, updated_at, started_at, due_at, lease_expires_at, flow_key,
		claimed_by)
	SELECT value->>'id', value->>'name', value->>'payload', 'STARTED', 1, value->>'created_at', ?2,
		coalesce(value->>'started_at', ?2), value->>'created_at', value->>'lease_expires_at', value->>'flow_key', ?3
	FROM json_each(?1)
	WHERE (value->>'flow_key' IS NULL OR value->>'rank' + (
		SELECT count(*) FROM tasks AS holder WHERE holder.status = 'STARTED' AND holder.name = value->>'name'
			AND holder.flow_key = value->>'flow_key' AND holder.lease_expires_at > ?2) <= value->>'limit')
		AND NOT EXISTS (SELECT 1 FROM tasks AS spent WHERE spent.id = value->>'id' AND spent.status = 'STARTED'
			AND spent.attempts >= value->>'max_attempts')
	ON CONFLICT (id) DO UPDATE SET status = 'STARTED', attempts = tasks.attempts + 1, started_at = excluded.started_at,
		updated_at = excluded.updated_at, lease_expires_at = excluded.lease_expires_at, next_attempt_at = NULL,
		waiting = NULL, flow_key = excluded.flow_key, claimed_by = excluded.claimed_by
	WHERE tasks.status IN (${inList(sourcesOf("STARTED").filter((s) => s !== "STARTED"))})
		OR (tasks.status = 'STARTED' AND tasks.lease_expires_at <= excluded.started_at)
	RETURNING id, attempts`;
const IDS = "(SELECT value->>'id' FROM json_each(?1))";
const EFFECTS_OF = `SELECT task_id, key, value FROM task_effects WHERE task_id IN ${IDS}`;
const STATUS_OF = `SELECT id, status, attempts, lease_expires_at, callback_url IS NOT NULL AS has_callback, workflow_id
	FROM tasks WHERE id IN ${IDS}`;
// A task revoked before any consumer saw it has only a tombstone; its message
// supplies the name and input.
const FILL_TOMBSTONES = `
	UPDATE tasks SET name = j.value->>'name', payload = j.value->>'payload'
	FROM json_each(?1) AS j
	WHERE tasks.id = j.value->>'id' AND +tasks.status = 'REVOKED' AND +tasks.name = ?2`;

/** What else a claim's round trip carries, in its transaction. */
export interface ClaimWith {
	/** Statements that run after the claim, whatever it claims. */
	also?: readonly BatchStatement[];
	/** The claim's token, which every task it claims is marked with (claimed_by). */
	token?: string;
	/** Statements that run last, finding the claimed runs by the token; their results are returned (`lastResults`). */
	last?: readonly BatchStatement[];
}

/**
 * Claims many tasks for one run each, in one round trip. A task with no row yet
 * (enqueued without one) is inserted as STARTED; a PENDING or RETRY task, or a
 * STARTED one whose lease has expired, becomes STARTED with attempts + 1 and a
 * fresh lease.
 */
export async function claimMany(
	db: EngineDb,
	requests: readonly ClaimRequest[],
	now: Date,
	{ also = [], token = crypto.randomUUID(), last = [] }: ClaimWith = {},
): Promise<Claims & { lastResults: D1Result[] }> {
	const d1 = db.$client;
	const list = JSON.stringify(
		requests.map((r) => ({
			id: r.id,
			name: r.name,
			payload: JSON.stringify(r.payload),
			created_at: ms(r.enqueuedAt),
			// The run's lease counts from its start: the limiter's admission, if one admitted it.
			lease_expires_at: (r.admittedAt ?? ms(now)) + r.leaseSeconds * 1000,
			started_at: r.admittedAt,
			max_attempts: r.maxAttempts,
			flow_key: r.slot?.key,
			limit: r.slot?.limit,
			rank: r.slot?.rank,
		})),
	);
	const results = await d1.batch([
		d1.prepare(CLAIM).bind(list, ms(now), token),
		d1.prepare(EFFECTS_OF).bind(list),
		d1.prepare(STATUS_OF).bind(list),
		d1.prepare(FILL_TOMBSTONES).bind(list, UNKNOWN_NAME),
		...also,
		...last,
	]);
	const [claimed, effects, current] = results;
	const byTask = new Map<string, Map<string, Json>>();
	for (const effect of rows<{ task_id: string; key: string; value: string }>(effects)) {
		const known = byTask.get(effect.task_id) ?? new Map<string, Json>();
		known.set(effect.key, JSON.parse(effect.value) as Json);
		byTask.set(effect.task_id, known);
	}
	const statuses = rows<{
		id: string;
		status: TaskState;
		attempts: number;
		lease_expires_at: number | null;
		has_callback: number;
		workflow_id: string | null;
	}>(current);
	return {
		claimed: new Map(rows<{ id: string; attempts: number }>(claimed).map((row) => [row.id, row.attempts])),
		current: new Map(
			statuses.map((row) => [
				row.id,
				{
					status: row.status,
					attempts: row.attempts,
					leaseExpiresAt: row.lease_expires_at === null ? null : new Date(row.lease_expires_at),
					hasCallback: row.has_callback === 1,
					workflowId: row.workflow_id,
				},
			]),
		),
		effects: byTask,
		lastResults: results.slice(results.length - last.length),
	};
}

/** The error of a task whose message never reached the queue starts so. */
export const ENQUEUE_FAILED = "enqueue failed: ";

/** The error of a task left STARTED on its last attempt, its lease over: recovery and the claim both fail it so. */
export const abandonedAfter = (attempts: number) => `abandoned: the lease expired after ${attempts} attempt(s)`;

/** The name a revoke tombstone carries until the task's message arrives. */
export const UNKNOWN_NAME = "";

export interface NewEffect {
	taskId: string;
	key: string;
	value: Json;
}

/**
 * Gives back the concurrency slots of the runs `{ id, attempt }`, which are
 * over but whose outcomes went unrecorded: each row stays STARTED with its
 * lease, so its own redelivery still waits the lease out, but it no longer
 * counts against its key. Fenced by attempt, like an outcome.
 */
export async function freeSlots(db: EngineDb, runs: readonly { id: string; attempt: number }[]): Promise<void> {
	await db.$client
		.prepare(`
			UPDATE tasks SET flow_key = NULL
			FROM json_each(?1) AS r
			WHERE tasks.id = r.value->>'id' AND tasks.attempts = r.value->>'attempt' AND +tasks.status = 'STARTED'`)
		.bind(JSON.stringify(runs))
		.run();
}

/**
 * Holds the runs `{ id, attempt }` a while longer: their effects are still
 * under way. Fenced by attempt, like an outcome.
 */
export async function extendLeases(
	db: EngineDb,
	runs: readonly { id: string; attempt: number }[],
	until: Date,
	now: Date,
): Promise<void> {
	await db.$client
		.prepare(`
			UPDATE tasks SET lease_expires_at = ?2, updated_at = ?3
			FROM json_each(?1) AS r
			WHERE tasks.id = r.value->>'id' AND tasks.attempts = r.value->>'attempt' AND +tasks.status = 'STARTED'`)
		.bind(JSON.stringify(runs), ms(until), ms(now))
		.run();
}

/** Records side effects; a key already recorded keeps its first value. */
export async function recordEffects(db: EngineDb, effects: readonly NewEffect[], now: Date): Promise<void> {
	await effectsStatement(db, effects, now).run();
}

/** The statement recordEffects runs, to go in another write's transaction instead. */
export function effectsStatement(db: EngineDb, effects: readonly NewEffect[], now: Date): D1PreparedStatement {
	const list = JSON.stringify(effects.map((e) => ({ task_id: e.taskId, key: e.key, value: JSON.stringify(e.value) })));
	return db.$client
		.prepare(`
			INSERT INTO task_effects (task_id, key, value, recorded_at)
			SELECT value->>'task_id', value->>'key', value->>'value', ?2 FROM json_each(?1) WHERE true
			ON CONFLICT DO NOTHING`)
		.bind(list, ms(now));
}

export type Outcome =
	| { id: string; attempt: number; to: "SUCCESS"; result: Json }
	| { id: string; attempt: number; to: "RETRY"; error: string; delaySeconds: number }
	| { id: string; attempt: number; to: "FAILURE"; error: string };

// Fenced by attempt: a run that lost its lease to a newer claim cannot
// overwrite that run's outcome. The unary + keeps SQLite off the status index
// (a range as long as the tasks in that state): the batch's ids lead, each
// found by its primary key (test/engine/batch-plans.test.ts pins it).
const finish = (to: TaskState, set: string) => `
	UPDATE tasks SET status = '${to}', updated_at = ?2, lease_expires_at = NULL, ${set}
	FROM json_each(?1) AS o
	WHERE tasks.id = o.value->>'id' AND tasks.attempts = o.value->>'attempt' AND +tasks.status IN (${inList(sourcesOf(to))})
	RETURNING tasks.id`;
// The timeline entry (see history.ts), appended by the same statement.
const historyEntry = (status: "RETRY" | "FAILURE", delay: string) =>
	`json_object('attempt', tasks.attempts, 'at', ?2, 'status', '${status}', 'error', o.value->>'error', 'delaySeconds', ${delay})`;
const FINISH = {
	SUCCESS: finish("SUCCESS", "result = o.value->>'result', error = NULL, finished_at = ?2, next_attempt_at = NULL"),
	RETRY: finish(
		"RETRY",
		`error = o.value->>'error', next_attempt_at = o.value->>'next',
		history = json_insert(tasks.history, '$[#]', ${historyEntry("RETRY", "o.value->>'delay'")})`,
	),
	FAILURE: finish(
		"FAILURE",
		`error = o.value->>'error', finished_at = ?2, next_attempt_at = NULL,
		history = json_insert(tasks.history, '$[#]', ${historyEntry("FAILURE", "NULL")})`,
	),
};

/**
 * Records the outcomes of a batch's runs in one round trip, each fenced by its
 * attempt. Returns the ids whose outcome was recorded. `first` (a batch's
 * effects record) runs before them, in the same transaction.
 */
export async function recordOutcomes(
	db: EngineDb,
	outcomes: readonly Outcome[],
	now: Date,
	first: readonly D1PreparedStatement[] = [],
): Promise<Set<string>> {
	const d1 = db.$client;
	const lists: Record<Outcome["to"], object[]> = { SUCCESS: [], RETRY: [], FAILURE: [] };
	for (const o of outcomes) {
		const base = { id: o.id, attempt: o.attempt };
		if (o.to === "SUCCESS") lists.SUCCESS.push({ ...base, result: JSON.stringify(o.result) });
		else if (o.to === "RETRY") {
			lists.RETRY.push({ ...base, error: o.error, next: ms(now) + o.delaySeconds * 1000, delay: o.delaySeconds });
		} else lists.FAILURE.push({ ...base, error: o.error });
	}
	const statements = (Object.keys(lists) as Outcome["to"][])
		.filter((to) => lists[to].length > 0)
		.map((to) => d1.prepare(FINISH[to]).bind(JSON.stringify(lists[to]), ms(now)));
	if (statements.length === 0 && first.length === 0) return new Set();
	const results = await d1.batch([...first, ...statements]);
	return new Set(results.slice(first.length).flatMap((result) => rows<{ id: string }>(result).map((row) => row.id)));
}

/** Tasks known from their messages, as the one JSON parameter the upserts below read with json_each. */
function rowsJson<T extends { id: string; name: string; payload: Json; enqueuedAt: Date }>(
	list: readonly T[],
	more: (task: T) => object,
): string {
	return JSON.stringify(
		list.map((t) => ({
			id: t.id,
			name: t.name,
			payload: JSON.stringify(t.payload ?? null),
			created_at: ms(t.enqueuedAt),
			...more(t),
		})),
	);
}

export interface Waiting {
	id: string;
	name: string;
	payload: Json;
	enqueuedAt: Date;
	reason: string;
	/** When it is asked again. */
	until: Date;
}

// A PENDING task's due_at, a RETRY task's next_attempt_at: when it is asked
// again. A task enqueued without a row gets one, so that its state says why.
const MARK_WAITING = `
	INSERT INTO tasks (id, name, payload, status, created_at, updated_at, due_at, waiting)
	SELECT value->>'id', value->>'name', value->>'payload', 'PENDING', value->>'created_at', ?2, value->>'until',
		value->>'reason'
	FROM json_each(?1) WHERE true
	ON CONFLICT (id) DO UPDATE SET waiting = excluded.waiting, updated_at = excluded.updated_at,
		due_at = CASE tasks.status WHEN 'PENDING' THEN excluded.due_at ELSE tasks.due_at END,
		next_attempt_at = CASE tasks.status WHEN 'RETRY' THEN excluded.due_at ELSE tasks.next_attempt_at END
	WHERE tasks.status IN ('PENDING', 'RETRY')`;

/** Records why these tasks' deliveries were held back by a flow limit, and until when; for a batch. */
export function markWaiting(db: EngineDb, list: readonly Waiting[], now: Date): BatchStatement {
	const json = rowsJson(list, (t) => ({ reason: t.reason, until: ms(t.until) }));
	return db.$client.prepare(MARK_WAITING).bind(json, ms(now));
}

export interface Unrunnable {
	id: string;
	name: string;
	payload: Json;
	enqueuedAt: Date;
	error: string;
}

// A run holding a live lease decides its own outcome; if it dies, the lease
// expires and stuck-task recovery takes over.
const FAIL_UNRUNNABLE = `
	INSERT INTO tasks (id, name, payload, status, created_at, updated_at, due_at, finished_at, error, history)
	SELECT value->>'id', value->>'name', value->>'payload', 'FAILURE', value->>'created_at', ?2,
		value->>'created_at', ?2, value->>'error',
		json_array(json_object('attempt', 0, 'at', ?2, 'status', 'FAILURE', 'error', value->>'error', 'delaySeconds', NULL))
	FROM json_each(?1) WHERE true
	ON CONFLICT (id) DO UPDATE SET status = 'FAILURE', error = excluded.error, finished_at = excluded.finished_at,
		updated_at = excluded.updated_at, lease_expires_at = NULL, next_attempt_at = NULL, waiting = NULL,
		history = json_insert(tasks.history, '$[#]',
			json_object('attempt', tasks.attempts, 'at', ?2, 'status', 'FAILURE', 'error', excluded.error, 'delaySeconds', NULL))
	WHERE tasks.status IN (${inList(sourcesOf("FAILURE"))})
		AND NOT (tasks.status = 'STARTED' AND tasks.lease_expires_at > ?2)
	RETURNING id`;

/**
 * Fails tasks that will never run (dead-lettered, poison, never sent), in one
 * statement however many, creating the row when the task was enqueued without
 * one. Final tasks, and tasks a run holds a live lease on, are left alone.
 * Returns the statement, to run alone or in a batch; its rows are the ids it
 * failed.
 */
export function failUnrunnable(db: EngineDb, list: readonly Unrunnable[], now: Date): BatchStatement {
	const json = rowsJson(list, (t) => ({ error: t.error }));
	return db.$client.prepare(FAIL_UNRUNNABLE).bind(json, ms(now));
}

/** Runs failUnrunnable alone; returns the ids it failed. */
export async function failNow(db: EngineDb, list: readonly Unrunnable[], now = new Date()): Promise<Set<string>> {
	const result = await failUnrunnable(db, list, now).all<{ id: string }>();
	return new Set(result.results.map((row) => row.id));
}

/**
 * Revokes a task that no consumer has seen yet and that has no row (enqueued
 * without one): a REVOKED tombstone makes the consumer ack its message
 * unrun. Returns undefined if a row appeared in the meantime.
 */
export function revokeUnseen(db: EngineDb, id: string, enqueuedAt: Date, now = new Date()) {
	return first(
		db
			.insert(tasks)
			.values({
				id,
				name: UNKNOWN_NAME,
				payload: {},
				status: "REVOKED",
				createdAt: enqueuedAt,
				updatedAt: now,
				finishedAt: now,
				error: "revoked",
			})
			.onConflictDoNothing()
			.returning(),
	);
}
