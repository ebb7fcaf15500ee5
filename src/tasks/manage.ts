// Reading, revoking and retrying a task on a client's request: Celery's
// AsyncResult, `revoke` and Flower's retry button. The API and the dashboard
// both call these, so both answer alike and refuse the same moves with the
// same errors.
import type { AppContext } from "../context";
import type { TaskRow } from "../db/schema";
import { AppError, notFound } from "../errors";
import { unseenSince } from "./ids";
import { registry } from "./registry";
import { getTask, revoke, revokeUnseen, UNKNOWN_NAME } from "./store";

/**
 * The task's row, or for a task still on the queue with no row yet (enqueued
 * without one, within the queue's retention), a PENDING placeholder known only
 * by its id and when that id was minted. Undefined if unknown.
 */
export async function readTask(ctx: AppContext, id: string): Promise<TaskRow | undefined> {
	const row = await getTask(ctx.db, id);
	if (row) return row;
	const minted = unseenSince(id, ctx.config);
	if (!minted) return undefined;
	return {
		id,
		name: UNKNOWN_NAME,
		payload: null,
		status: "PENDING",
		result: null,
		error: null,
		attempts: 0,
		createdAt: minted,
		startedAt: null,
		finishedAt: null,
		updatedAt: minted,
		leaseExpiresAt: null,
		nextAttemptAt: null,
		dueAt: minted,
		retryOf: null,
		recoveries: 0,
		history: [],
	};
}

/**
 * A PENDING or RETRY task becomes REVOKED, as does one still on the queue with
 * no row yet; 404 if unknown, 409 if running or finished.
 */
export async function revokeTask(ctx: AppContext, id: string): Promise<TaskRow> {
	const minted = unseenSince(id, ctx.config);
	const revoked = (await revoke(ctx.db, id)) ?? (minted && (await revokeUnseen(ctx.db, id, minted)));
	if (revoked) {
		ctx.log.info("task transition", { task_id: id, name: revoked.name, from: "PENDING|RETRY", to: "REVOKED" });
		return revoked;
	}
	const current = await getTask(ctx.db, id);
	if (!current) throw notFound("Task");
	throw new AppError(409, "conflict", `Task is ${current.status}; only PENDING or RETRY tasks can be revoked`);
}

/** Enqueues a FAILURE or REVOKED task's input again as a new task; returns the new id. */
export async function retryTask(ctx: AppContext, id: string): Promise<string> {
	const original = await getTask(ctx.db, id);
	if (!original) throw notFound("Task");
	if (original.status !== "FAILURE" && original.status !== "REVOKED") {
		throw new AppError(409, "conflict", `Task is ${original.status}; only FAILURE or REVOKED tasks can be retried`);
	}
	if (original.name === UNKNOWN_NAME) {
		// A tombstone: revoked before any consumer saw the task, so its input is not known here.
		throw new AppError(409, "conflict", "Task was revoked before it was consumed; its input is unknown, so it cannot be retried");
	}
	const definition = registry.get(original.name);
	if (!definition) throw new AppError(409, "conflict", `Task name "${original.name}" is no longer registered`);
	const { id: newId } = await ctx.tasks.enqueue(definition, original.payload, { retryOf: original.id });
	return newId;
}
