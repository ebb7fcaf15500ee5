// Reading, revoking and retrying a task on a client's request: Celery's
// AsyncResult, `revoke` and Flower's retry button. The API and the dashboard
// both call these (through the client), so both answer alike and refuse the
// same moves with the same errors.
import { IllegalTransitionError, TaskNotFoundError } from "./errors";
import { unseenSince } from "./ids";
import type { Enqueued } from "./producer";
import { releaseSoon } from "./release";
import type { Runtime } from "./runtime";
import type { TaskRow } from "./schema";
import { isFinal } from "./states";
import { getTask, revoke, revokeUnseen, UNKNOWN_NAME } from "./store/tasks";
import { dispatchSoon } from "./webhooks/dispatch";

/**
 * The task's row, or for a task still on the queue with no row yet (enqueued
 * without one, within the queue's retention), a PENDING placeholder known only
 * by its id and when that id was minted. Undefined if unknown.
 */
export async function readTask(rt: Runtime, id: string): Promise<TaskRow | undefined> {
	const row = await getTask(rt.db, id);
	if (row) return row;
	const minted = unseenSince(id, rt.config.queueRetentionSeconds);
	if (!minted || !(await rt.ids.issued(id))) return undefined;
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
		callbackUrl: null,
		callbackTaskId: null,
		workflowId: null,
		workflowStep: null,
		resultAs: null,
		unsent: null,
		waiting: null,
		flowKey: null,
		claimedBy: null,
	};
}

/** The longest a caller may wait for a task: the API's ?wait and the RPC entrypoint both hold to it. */
export const MAX_WAIT_SECONDS = 30;

/** The first pause of a waiter, and the longest: one D1 read per 250 ms at most, backing off to one per 2 s. */
const WAIT_FIRST_MS = 250;
const WAIT_MAX_MS = 2000;

/**
 * The task once it is final (SUCCESS, FAILURE or REVOKED), or as it is when
 * `timeoutSeconds` have passed: Celery's result.get(timeout=...) and BullMQ's
 * waitUntilFinished. It polls D1, 250 ms apart at first and backing off to
 * 2 s, so a waiter costs at most one read per 250 ms and nothing after it
 * answers. Undefined if the task is unknown.
 */
export async function waitForTask(rt: Runtime, id: string, timeoutSeconds: number): Promise<TaskRow | undefined> {
	const deadline = Date.now() + Math.min(MAX_WAIT_SECONDS, Math.max(0, timeoutSeconds)) * 1000;
	let pause = WAIT_FIRST_MS;
	for (;;) {
		const task = await readTask(rt, id);
		const left = deadline - Date.now();
		if (!task || isFinal(task.status) || left <= 0) return task;
		await scheduler.wait(Math.min(pause, left));
		pause = Math.min(WAIT_MAX_MS, pause * 1.5);
	}
}

/**
 * A PENDING or RETRY task becomes REVOKED, as does one still on the queue with
 * no row yet; TaskNotFoundError if unknown, IllegalTransitionError if running
 * or finished.
 */
export async function revokeTask(rt: Runtime, id: string): Promise<TaskRow> {
	// A tombstone only for an id this deployment minted: a made-up one is 404.
	const minted = unseenSince(id, rt.config.queueRetentionSeconds);
	const unseen = minted && (await rt.ids.issued(id)) ? minted : undefined;
	const revoked = (await revoke(rt.db, id)) ?? (unseen && (await revokeUnseen(rt.db, id, unseen)));
	if (revoked) {
		rt.log.info("task transition", { task_id: id, name: revoked.name, from: "PENDING|RETRY", to: "REVOKED" });
		if (revoked.callbackUrl !== null) await dispatchSoon(rt, [id]);
		// A chord member may have been the last one its callback waited for.
		if (revoked.workflowId !== null) await releaseSoon(rt, { workflows: [revoked.workflowId] });
		return revoked;
	}
	const current = await getTask(rt.db, id);
	if (!current) throw new TaskNotFoundError();
	throw new IllegalTransitionError(`Task is ${current.status}; only PENDING or RETRY tasks can be revoked`);
}

/**
 * Enqueues a FAILURE or REVOKED task's input again as a new task. A retry of
 * the same task within the idempotency TTL answers with the task the first
 * created (replayed): a double click on Retry runs it once.
 */
export async function retryTask(rt: Runtime, id: string): Promise<Enqueued> {
	const original = await getTask(rt.db, id);
	if (!original) throw new TaskNotFoundError();
	if (original.status !== "FAILURE" && original.status !== "REVOKED") {
		throw new IllegalTransitionError(`Task is ${original.status}; only FAILURE or REVOKED tasks can be retried`);
	}
	if (original.name === UNKNOWN_NAME) {
		// A tombstone: revoked before any consumer saw the task, so its input is not known here.
		throw new IllegalTransitionError("Task was revoked before it was consumed; its input is unknown, so it cannot be retried");
	}
	const task = rt.taskOf(original.name);
	if (!task) throw new IllegalTransitionError(`Task name "${original.name}" is no longer registered`);
	// A space: no client's Idempotency-Key can take this one (theirs are printable ASCII without it).
	// The new task reports to the same webhook, if the original had one.
	return rt.producer.enqueue(task, original.payload, {
		retryOf: original.id,
		idempotencyKey: `retry ${original.id}`,
		callbackUrl: original.callbackUrl ?? undefined,
	});
}
