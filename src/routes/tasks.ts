// Tasks: the result backend over HTTP (AsyncResult), plus what Flower and
// `celery inspect` / `revoke` give Celery users: list, revoke, retry.
import * as z from "zod";
import { MAX_WAIT_SECONDS, TASK_STATES } from "../engine";
import { notFound } from "../errors";
import { accepted } from "../http/enqueue-route";
import { authedRoute, enqueueRoute } from "../http/openapi";
import { createRouter } from "../http/openapi-router";
import { acceptedResponse, errorResponse, taskBody, toTaskBody } from "../http/schemas";

const taskIdParams = z.object({
	task_id: z.uuid({ error: "must be a UUID" }).meta({ example: "01a211a4-3eb4-76e9-8c2e-67aa8b8942f7" }),
});

const listQuery = z.object({
	status: z.enum(TASK_STATES).optional().meta({ example: "FAILURE" }),
	name: z.string().min(1).max(200).optional().meta({ example: "send_email" }),
	created_after: z.iso.datetime({ offset: true }).optional().meta({ example: "2026-11-24T00:00:00Z" }),
	created_before: z.iso.datetime({ offset: true }).optional().meta({ example: "2026-11-25T00:00:00Z" }),
	limit: z.coerce.number().int().min(1).max(100).default(20).meta({ description: "Page size, 1 to 100", example: 50 }),
	cursor: z.string().max(200).optional().meta({ description: "next_cursor from the previous page" }),
});

const waitQuery = z.object({
	wait: z.coerce
		.number()
		.int()
		.min(1)
		.max(MAX_WAIT_SECONDS)
		.optional()
		.meta({ description: "Wait up to this many seconds for the task to finish", example: 10 }),
});

const taskPage = z
	.object({
		tasks: z.array(taskBody),
		next_cursor: z.string().nullable().meta({ description: "Pass as cursor for the next page; null on the last page" }),
	})
	.meta({ id: "TaskPage" });

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
		const page = await c.get("ctx").tasks.list({
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
		description: `?wait=N (1 to ${MAX_WAIT_SECONDS}): answers once the task is final, or after N seconds with its state then.`,
		request: { params: taskIdParams, query: waitQuery },
		responses: {
			200: taskResponse("The task. A task still on the queue, not yet seen by a consumer, is PENDING with name null."),
			400: errorResponse(`task_id is not a UUID, or wait is not a whole number of seconds from 1 to ${MAX_WAIT_SECONDS}`),
			404: errorResponse("No such task (or its result has expired)"),
		},
	}),
	async (c) => {
		const { task_id } = c.req.valid("param");
		const { wait } = c.req.valid("query");
		const row = wait ? await c.get("ctx").tasks.wait(task_id, { timeoutSeconds: wait }) : await c.get("ctx").tasks.get(task_id);
		if (!row) throw notFound("Task");
		return c.json(toTaskBody(row), 200);
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
	async (c) => c.json(toTaskBody(await c.get("ctx").tasks.revoke(c.req.valid("param").task_id)), 200),
);

tasks.openapi(
	enqueueRoute({
		method: "post",
		path: "/tasks/{task_id}/retry",
		tags: ["Tasks"],
		summary: "Run a failed or revoked task again, as a new task",
		description: "A new task with the same input (retry_of names the original); a repeat answers 200 with that task.",
		request: { params: taskIdParams },
		responses: {
			200: { ...acceptedResponse, description: "This task was retried before: the task that retry created" },
			202: acceptedResponse,
			400: errorResponse("task_id is not a UUID, or the stored input no longer passes the task's schema"),
			404: errorResponse("No such task"),
			409: errorResponse(
				"The task is not FAILURE or REVOKED, its task is no longer registered, or another retry of it is being sent",
			),
			503: errorResponse("The queue refused the message; nothing was enqueued"),
		},
	}),
	async (c) => accepted(c, await c.get("ctx").tasks.retry(c.req.valid("param").task_id)),
);
