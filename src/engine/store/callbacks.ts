// Completion webhooks' outbox is the tasks table itself: a final task with a
// callback_url and no callback_task_id owes a webhook. Dispatching one records
// its deliver_webhook task and sets callback_task_id in one transaction, both
// guarded the same way, so however many dispatchers race (the consumer, a
// revoke, the recovery sweep), each task's webhook is dispatched once.
import { and, isNotNull, isNull, lt } from "drizzle-orm";
import type { EngineDb } from "../db";
import { tasks } from "../schema";
import { FINAL_STATES } from "../states";
import { idIn } from "./tasks";

const FINAL = FINAL_STATES.map((s) => `'${s}'`).join(", ");
const OWES = (t: string) => `${t}.callback_url IS NOT NULL AND ${t}.callback_task_id IS NULL AND ${t}.status IN (${FINAL})`;

const RECORD_DELIVERIES = `
	INSERT INTO tasks (id, name, payload, status, created_at, updated_at, due_at)
	SELECT j.value->>'delivery', ?2, json_object('task_id', t.id), 'PENDING', ?3, ?3, ?3
	FROM json_each(?1) AS j JOIN tasks AS t ON t.id = j.value->>'task'
	WHERE ${OWES("t")}`;
const LINK_DELIVERIES = `
	UPDATE tasks SET callback_task_id = j.value->>'delivery'
	FROM json_each(?1) AS j
	WHERE tasks.id = j.value->>'task' AND ${OWES("tasks")}
	RETURNING tasks.id AS task, tasks.callback_task_id AS delivery`;

export interface Delivery {
	/** The finished task the webhook is about. */
	task: string;
	/** The deliver_webhook task that posts it. */
	delivery: string;
}

/**
 * Records a `name` task (PENDING) for each candidate that owes a webhook, with
 * the id proposed for it, and links it; returns those recorded. Candidates that
 * owe none (no callback, not final, already dispatched) are left alone.
 */
export async function recordDeliveries(
	db: EngineDb,
	candidates: readonly Delivery[],
	name: string,
	now: Date,
): Promise<Delivery[]> {
	const d1 = db.$client;
	const list = JSON.stringify(candidates);
	const [, linked] = await d1.batch([
		d1.prepare(RECORD_DELIVERIES).bind(list, name, now.getTime()),
		d1.prepare(LINK_DELIVERIES).bind(list),
	]);
	return (linked?.results ?? []) as Delivery[];
}

/** Up to `limit` tasks that finished before `before` and still owe a webhook, oldest first, from their partial index. */
export function owingWebhooks(db: EngineDb, before: Date, limit: number) {
	return db
		.select({ id: tasks.id })
		.from(tasks)
		.where(and(isNotNull(tasks.callbackUrl), isNull(tasks.callbackTaskId), lt(tasks.finishedAt, before)))
		.orderBy(tasks.finishedAt)
		.limit(limit);
}

/** Forgets the webhooks of tasks whose enqueue failed: the client was told they were never enqueued. */
export async function dropCallbacks(db: EngineDb, ids: readonly string[]): Promise<void> {
	if (ids.length === 0) return;
	await db.update(tasks).set({ callbackUrl: null }).where(idIn(ids));
}
