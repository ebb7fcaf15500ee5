// A workflow's own row, and its steps: every statement on the workflows table.
// What moves a workflow on when a step finishes is the trigger in
// migrations/0010_workflows.sql, so it happens in the transaction that
// finished the step, whichever code wrote it.
import { and, asc, eq, inArray, lt, notExists, sql } from "drizzle-orm";
import type { EngineDb } from "../db";
import { type TaskRow, tasks, type WorkflowRow, workflows } from "../schema";
import { sourcesOf } from "../states";

export function insertWorkflow(db: EngineDb, row: typeof workflows.$inferInsert) {
	return db.insert(workflows).values(row);
}

/** The workflow and its steps in step order (a chord's callback last); undefined if unknown. */
export async function getWorkflow(db: EngineDb, id: string): Promise<{ workflow: WorkflowRow; steps: TaskRow[] } | undefined> {
	const [found, steps] = await db.batch([
		db.select().from(workflows).where(eq(workflows.id, id)),
		db.select().from(tasks).where(eq(tasks.workflowId, id)).orderBy(asc(tasks.workflowStep)),
	]);
	const [workflow] = found;
	return workflow ? { workflow, steps } : undefined;
}

/**
 * Revokes every step that has not started, in one transaction: a chord's
 * callback first, so that members revoked after it cannot release it.
 */
export async function revokeSteps(db: EngineDb, workflow: WorkflowRow, now: Date) {
	const revoke = (where: ReturnType<typeof eq>) =>
		db
			.update(tasks)
			.set({ status: "REVOKED", finishedAt: now, updatedAt: now, error: "revoked with its workflow", unsent: null })
			.where(and(where, inArray(tasks.status, sourcesOf("REVOKED"))));
	const steps = revoke(eq(tasks.workflowId, workflow.id));
	await (workflow.callbackId ? db.batch([revoke(eq(tasks.id, workflow.callbackId)), steps]) : steps);
}

/**
 * Deletes up to `limit` workflows created before `cutoff` whose steps have all
 * expired (result expiry deletes steps as it deletes any task), oldest first.
 */
export function deleteExpiredWorkflows(db: EngineDb, cutoff: Date, limit: number) {
	const expired = db
		.select({ id: workflows.id })
		.from(workflows)
		.where(
			and(
				lt(workflows.createdAt, cutoff),
				notExists(db.select({ one: sql`1` }).from(tasks).where(eq(tasks.workflowId, workflows.id))),
			),
		)
		.orderBy(asc(workflows.createdAt))
		.limit(limit);
	return db.delete(workflows).where(inArray(workflows.id, expired)).returning({ id: workflows.id });
}
