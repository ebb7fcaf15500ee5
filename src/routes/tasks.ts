// Tasks: the result backend over HTTP (AsyncResult), plus what Flower and
// `celery inspect` / `revoke` give Celery users: list, revoke, retry.
import { z } from "@hono/zod-openapi";
import type { Config } from "../config";
import { AppError, notFound } from "../errors";
import { createRouter } from "../http/app-env";
import { authedRoute } from "../http/openapi";
import { acceptedResponse, errorResponse, taskBody, toTaskBody, unseenTaskBody } from "../http/schemas";
import { mintedAt } from "../tasks/ids";
import { listTasks } from "../tasks/list";
import { registry } from "../tasks/registry";
import { TASK_STATES } from "../tasks/states";
import { getTask, revoke, revokeUnseen } from "../tasks/store";

const taskIdParams = z.object({
	task_id: z.uuid({ error: "must be a UUID" }).openapi({ param: { name: "task_id", in: "path" } }),
});

const listQuery = z.object({
	status: z.enum(TASK_STATES).optional(),
	name: z.string().min(1).max(200).optional().openapi({ example: "send_email" }),
	created_after: z.iso.datetime({ offset: true }).optional().openapi({ example: "2026-11-24T00:00:00Z" }),
	created_before: z.iso.datetime({ offset: true }).optional(),
	limit: z.coerce.number().int().min(1).max(100).default(20),
	cursor: z.string().max(200).optional().openapi({ description: "next_cursor from the previous page" }),
});

const taskPage = z
	.object({
		tasks: z.array(taskBody),
		next_cursor: z.string().nullable().openapi({ description: "Pass as cursor for the next page; null on the last page" }),
	})
	.openapi("TaskPage");

// Queues keep an unconsumed message for 4 days unless the queue is configured
// otherwise.
const QUEUE_RETENTION_MS = 4 * 86_400_000;
// Clocks of the Worker that minted an id and the one reading it may differ.
const CLOCK_SKEW_MS = 60_000;

/**
 * When `id` was minted, if a task with that id may still be on the queue,
 * unseen by any consumer: a task enqueued without a row has none until it is
 * claimed. Past the queue's retention, or the result TTL (an expired task must
 * not read as PENDING again), a missing row means an unknown task.
 */
function unseenSince(id: string, config: Config, now = Date.now()): Date | undefined {
	const minted = mintedAt(id);
	if (!minted) return undefined;
	const age = now - minted.getTime();
	return age >= -CLOCK_SKEW_MS && age < Math.min(QUEUE_RETENTION_MS, config.resultTtlSeconds * 1000) ? minted : undefined;
}

const taskResponse = (description: string) => ({ content: { "application/json": { schema: taskBody } }, description });

export const tasks = createRouter();

tasks.openapi(
	authedRoute({
		method: "get",
		path: "/tasks",
		tags: ["Tasks"],
		summary: "List tasks, newest first",
		request: { query: listQuery },
		responses: {
			200: { content: { "application/json": { schema: taskPage } }, description: "One page of tasks" },
			400: errorResponse("A filter, limit or cursor is invalid"),
		},
	}),
	async (c) => {
		const q = c.req.valid("query");
		const page = await listTasks(c.var.ctx.db, {
			status: q.status,
			name: q.name,
			createdAfter: q.created_after ? new Date(q.created_after) : undefined,
			createdBefore: q.created_before ? new Date(q.created_before) : undefined,
			limit: q.limit,
			cursor: q.cursor,
		});
		return c.json({ tasks: page.tasks.map(toTaskBody), next_cursor: page.nextCursor }, 200);
	},
);

tasks.openapi(
	authedRoute({
		method: "get",
		path: "/tasks/{task_id}",
		tags: ["Tasks"],
		summary: "A task's state and result",
		request: { params: taskIdParams },
		responses: {
			200: taskResponse("The task. A task still on the queue, not yet seen by a consumer, is PENDING with name null."),
			400: errorResponse("task_id is not a UUID"),
			404: errorResponse("No such task (or its result has expired)"),
		},
	}),
	async (c) => {
		const { task_id } = c.req.valid("param");
		const { db, config } = c.var.ctx;
		const row = await getTask(db, task_id);
		if (row) return c.json(toTaskBody(row), 200);
		const minted = unseenSince(task_id, config);
		if (!minted) throw notFound("Task");
		return c.json(unseenTaskBody(task_id, minted), 200);
	},
);

tasks.openapi(
	authedRoute({
		method: "delete",
		path: "/tasks/{task_id}",
		tags: ["Tasks"],
		summary: "Revoke a task that has not started",
		description:
			"A PENDING or RETRY task (including one still on the queue) becomes REVOKED; its message is acked without running.",
		request: { params: taskIdParams },
		responses: {
			200: taskResponse("The revoked task"),
			400: errorResponse("task_id is not a UUID"),
			404: errorResponse("No such task"),
			409: errorResponse("The task is running or finished"),
		},
	}),
	async (c) => {
		const { task_id } = c.req.valid("param");
		const { db, log } = c.var.ctx;
		const minted = unseenSince(task_id, c.var.ctx.config);
		const revoked = (await revoke(db, task_id)) ?? (minted && (await revokeUnseen(db, task_id, minted)));
		if (revoked) {
			log.info("task transition", { task_id, name: revoked.name, from: "PENDING|RETRY", to: "REVOKED" });
			return c.json(toTaskBody(revoked), 200);
		}
		const current = await getTask(db, task_id);
		if (!current) throw notFound("Task");
		throw new AppError(409, "conflict", `Task is ${current.status}; only PENDING or RETRY tasks can be revoked`);
	},
);

tasks.openapi(
	authedRoute({
		method: "post",
		path: "/tasks/{task_id}/retry",
		tags: ["Tasks"],
		summary: "Run a failed or revoked task again, as a new task",
		description: "Enqueues a new task with the same input; its retry_of names the original.",
		request: { params: taskIdParams },
		responses: {
			202: acceptedResponse,
			400: errorResponse("task_id is not a UUID, or the stored input no longer passes the task's schema"),
			404: errorResponse("No such task"),
			409: errorResponse("The task is not FAILURE or REVOKED, or its task name is no longer registered"),
			503: errorResponse("The queue refused the message; nothing was enqueued"),
		},
	}),
	async (c) => {
		const { task_id } = c.req.valid("param");
		const original = await getTask(c.var.ctx.db, task_id);
		if (!original) throw notFound("Task");
		if (original.status !== "FAILURE" && original.status !== "REVOKED") {
			throw new AppError(409, "conflict", `Task is ${original.status}; only FAILURE or REVOKED tasks can be retried`);
		}
		const definition = registry.get(original.name);
		if (!definition) throw new AppError(409, "conflict", `Task name "${original.name}" is no longer registered`);
		const { id } = await c.var.ctx.tasks.enqueue(definition, original.payload, { retryOf: original.id });
		return c.json({ task_id: id, status: "queued" as const }, 202, { Location: `/tasks/${id}` });
	},
);
