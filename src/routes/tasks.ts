// The result backend over HTTP: AsyncResult(task_id).state / .result.
import { createRoute, z } from "@hono/zod-openapi";
import { notFound } from "../errors";
import { createRouter } from "../http/app-env";
import { errorResponse, taskBody, toTaskBody } from "../http/schemas";
import { getTask } from "../tasks/store";

export const tasks = createRouter().openapi(
	createRoute({
		method: "get",
		path: "/tasks/{task_id}",
		tags: ["Tasks"],
		summary: "A task's state and result",
		request: {
			params: z.object({
				task_id: z.uuid({ error: "must be a UUID" }).openapi({ param: { name: "task_id", in: "path" } }),
			}),
		},
		responses: {
			200: { content: { "application/json": { schema: taskBody } }, description: "The task" },
			400: errorResponse("task_id is not a UUID"),
			404: errorResponse("No such task"),
		},
	}),
	async (c) => {
		const row = await getTask(c.var.ctx.db, c.req.valid("param").task_id);
		if (!row) throw notFound("Task");
		return c.json(toTaskBody(row), 200);
	},
);
