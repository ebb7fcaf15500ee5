// The engine's tables: the result backend (tasks), completed side effects and
// idempotency keys. The app's schema (src/db/schema.ts) re-exports them, so
// drizzle-kit generates one migration sequence for both.
import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { TASK_STATES, WORKFLOW_KINDS } from "./states";

// Milliseconds since the epoch, as an integer, computed by SQLite itself.
const now = sql`(CAST(unixepoch('subsec') * 1000 AS INTEGER))`;
const timestamp = (name: string) => integer(name, { mode: "timestamp_ms" });

/** One failed attempt in a task's timeline (appended by store/history.ts). */
export interface HistoryEntry {
	/** The run that failed (1 for the first); 0 when the task never ran. */
	attempt: number;
	/** When it was recorded, in milliseconds since the epoch. */
	at: number;
	status: "RETRY" | "FAILURE";
	error: string;
	/** For RETRY: how long until the next attempt; null for FAILURE. */
	delaySeconds: number | null;
}

export const tasks = sqliteTable(
	"tasks",
	{
		id: text("id").primaryKey(),
		name: text("name").notNull(),
		payload: text("payload", { mode: "json" }).notNull(),
		status: text("status", { enum: TASK_STATES }).notNull().default("PENDING"),
		result: text("result", { mode: "json" }),
		error: text("error"),
		attempts: integer("attempts").notNull().default(0),
		createdAt: timestamp("created_at").notNull().default(now),
		startedAt: timestamp("started_at"),
		finishedAt: timestamp("finished_at"),
		updatedAt: timestamp("updated_at").notNull().default(now),
		/** While STARTED: until when the claiming delivery owns the run. */
		leaseExpiresAt: timestamp("lease_expires_at"),
		/** While RETRY: when the next attempt is due. */
		nextAttemptAt: timestamp("next_attempt_at"),
		/** When the first run is due: later than created_at for a delayed task. */
		dueAt: timestamp("due_at"),
		/** For a task re-enqueued by POST /tasks/:id/retry: the task it repeats. */
		retryOf: text("retry_of"),
		/** How often stuck-task recovery re-sent this task's message. */
		recoveries: integer("recoveries").notNull().default(0),
		/** Every failed attempt, oldest first: appended by the RETRY or FAILURE update itself (store/history.ts). */
		history: text("history", { mode: "json" }).$type<HistoryEntry[]>().notNull().default(sql`'[]'`),
		/** Where to POST the task's body once it is final (a completion webhook), if anywhere. */
		callbackUrl: text("callback_url"),
		/** The deliver_webhook task that posts it, once dispatched: set once, so the webhook is dispatched once. */
		callbackTaskId: text("callback_task_id"),
		/** The workflow (chain, group or chord) this task is a step of. */
		workflowId: text("workflow_id"),
		/** Its place there: a chain's order, a group's member index; a chord's callback comes after its members. */
		workflowStep: integer("workflow_step"),
		/** The input field this step receives what came before in: the previous step's result, or a chord's outcomes. */
		resultAs: text("result_as"),
		/**
		 * Recorded, and its message not yet sent: a workflow step waiting for its
		 * turn (due_at null), a task due beyond the queue's delay limit, or an
		 * outbox task until its send. release.ts sends it once it is due.
		 */
		unsent: integer("unsent", { mode: "boolean" }),
		/**
		 * While PENDING or RETRY: why its last delivery was held back by a flow
		 * limit (rate_limited, concurrency_limited, limiter_unavailable); its
		 * due_at or next_attempt_at says until when. Cleared by the claim.
		 */
		waiting: text("waiting"),
		/**
		 * For a task under a concurrency limit, the key its limit counts it
		 * under: while it is STARTED with a live lease, it holds one of that
		 * key's slots. Set by the claim.
		 */
		flowKey: text("flow_key"),
		/**
		 * The delivery that claimed the task last: a token of its claim, which
		 * the statements of a transactional task's work and outcome, in the
		 * claim's own D1 transaction, find their runs by.
		 */
		claimedBy: text("claimed_by"),
	},
	(t) => [
		check("tasks_status_check", sql.raw(`status IN (${TASK_STATES.map((s) => `'${s}'`).join(", ")})`)),
		// Listing is newest first with (created_at, id) as the keyset cursor.
		// name rides along in the status index so that the overview's failures
		// per name read it alone: fetching each row for its name cost more than
		// the rest of the overview together with a million tasks in the table.
		index("tasks_status_created_idx").on(t.status, t.createdAt, t.id, t.name),
		index("tasks_name_created_idx").on(t.name, t.createdAt, t.id),
		index("tasks_created_idx").on(t.createdAt, t.id),
		// Finished tasks by age and outcome: the dashboard's throughput chart reads
		// this index alone. Partial, so only finishing writes touch it, not every
		// PENDING -> STARTED -> RETRY move.
		index("tasks_finished_status_idx").on(t.finishedAt, t.status).where(sql`finished_at IS NOT NULL`),
		// Final tasks whose webhook is not dispatched yet: the sweep in
		// recover_stuck_tasks reads this index alone, however large the table.
		index("tasks_callback_due_idx").on(t.finishedAt).where(sql`callback_url IS NOT NULL AND callback_task_id IS NULL`),
		index("tasks_workflow_idx").on(t.workflowId, t.workflowStep).where(sql`workflow_id IS NOT NULL`),
		// Tasks whose message is owed, by when: the release sweep reads this alone.
		index("tasks_unsent_idx").on(t.dueAt).where(sql`unsent = 1`),
		// Tasks held back by a flow limit, for the dashboard: only they are in it.
		index("tasks_waiting_idx").on(t.updatedAt).where(sql`waiting IS NOT NULL`),
		// The runs holding a concurrency slot, by task and key: the claim counts
		// a key's slots from this alone. Only limited runs while STARTED are in it.
		index("tasks_slots_idx").on(t.name, t.flowKey, t.leaseExpiresAt).where(sql`status = 'STARTED' AND flow_key IS NOT NULL`),
	],
);

/** Side effects a task has completed, so a re-run can skip them (TaskInfo.once). */
export const taskEffects = sqliteTable(
	"task_effects",
	{
		taskId: text("task_id")
			.notNull()
			.references(() => tasks.id, { onDelete: "cascade" }),
		key: text("key").notNull(),
		value: text("value", { mode: "json" }).notNull(),
		recordedAt: timestamp("recorded_at").notNull().default(now),
	},
	(t) => [primaryKey({ columns: [t.taskId, t.key] })],
);

/** Idempotency-Key header values: one key, one request (one task, or a bulk request's tasks), until it expires. */
export const idempotencyKeys = sqliteTable(
	"idempotency_keys",
	{
		key: text("key").primaryKey(),
		/** Hash of the task name and its validated input. */
		fingerprint: text("fingerprint").notNull(),
		/** The task the key enqueued; for a bulk request, the first of them. */
		taskId: text("task_id").notNull(),
		/** For a bulk request: every task it enqueued, in input order. */
		taskIds: text("task_ids", { mode: "json" }).$type<string[]>(),
		/**
		 * "sending" from the moment the key is claimed until its messages are on
		 * the queue; then "sent". A replay answers only once the key is sent.
		 * Keys recorded before this column existed were sent.
		 */
		state: text("state", { enum: ["sending", "sent"] })
			.notNull()
			.default("sent"),
		createdAt: timestamp("created_at").notNull().default(now),
		expiresAt: timestamp("expires_at").notNull(),
	},
	(t) => [index("idempotency_keys_expires_idx").on(t.expiresAt)],
);

/**
 * A chain, group or chord: its steps are tasks carrying its id. `done` counts
 * the members that reached a final state, kept by a trigger in the same
 * transaction as the write that finished each (migrations/0010).
 */
export const workflows = sqliteTable(
	"workflows",
	{
		id: text("id").primaryKey(),
		kind: text("kind", { enum: WORKFLOW_KINDS }).notNull(),
		/** Steps of a chain; members of a group or chord (its callback not counted). */
		members: integer("members").notNull(),
		done: integer("done").notNull().default(0),
		/** A chord's callback task. */
		callbackId: text("callback_id"),
		createdAt: timestamp("created_at").notNull().default(now),
	},
	// Result expiry deletes the oldest workflows whose steps have all expired.
	(t) => [index("workflows_created_idx").on(t.createdAt)],
);

export type TaskRow = typeof tasks.$inferSelect;
export type WorkflowRow = typeof workflows.$inferSelect;
