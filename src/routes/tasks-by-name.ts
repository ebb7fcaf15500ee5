// Any of the app's tasks by name, with no route of its own: POST /tasks and
// POST /tasks/bulk. Each task's input is validated by its own schema, and
// /openapi.json describes one request shape per task, discriminated by
// `name`, so a task added to src/tasks/index.ts appears here and in /docs
// with no route written. The engine's own maintenance tasks are not callable.
import type { MiddlewareHandler } from "hono";
import * as z from "zod";
import type { TaskRef } from "../engine";
import { AppError } from "../errors";
import type { AppEnv } from "../http/app-env";
import {
	accepted,
	acceptedMany,
	bulkResponses,
	enqueueOptions,
	enqueueResponses,
	idempotencyHeader,
	json,
} from "../http/enqueue-route";
import { enqueueRoute } from "../http/openapi";
import { createRouter } from "../http/openapi-router";
import { errorResponse, scheduleFields } from "../http/schemas";
import { tasks as appTasks } from "../tasks";

export const callable = new Map<string, TaskRef>(appTasks.map((task) => [task.name, task]));
const names = [...callable.keys()];

/** One `{ name, input }` shape per callable task, as an OpenAPI oneOf with a discriminator. */
function byName(extra: z.ZodRawShape, id: (name: string) => string) {
	const options = appTasks.map((task) =>
		z
			.object({ name: z.literal(task.name), input: task.input, ...extra })
			.strict()
			.meta({ id: id(task.name) }),
	);
	// discriminatedUnion wants a non-empty tuple; the app's task list is a plain array.
	return z.discriminatedUnion("name", options as unknown as [(typeof options)[number], ...typeof options]);
}

const toPascal = (name: string) => name.replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());
const oneTask = byName(scheduleFields, (name) => `Enqueue${toPascal(name)}`).meta({ id: "EnqueueByName" });
const bulkBody = z
	.object({
		tasks: z
			.array(byName({}, (name) => `BulkItem${toPascal(name)}`))
			.min(1)
			.max(500),
		...scheduleFields,
	})
	.strict()
	.meta({ id: "EnqueueManyByName" });

export const unknownTask = (found: { index?: number; name: unknown }[]) =>
	new AppError(400, "unknown_task", `No callable task is named ${found.map((f) => JSON.stringify(f.name)).join(", ")}`, {
		callable: names,
		unknown: found,
	});

/**
 * 400 unknown_task before the body is validated, for a name that is not a
 * callable task: the union's own error would only say the discriminator is
 * wrong. Anything else (not JSON, no name) is left to the validator.
 */
const knownNames =
	(namesOf: (body: unknown) => { index?: number; name: unknown }[]): MiddlewareHandler<AppEnv> =>
	async (c, next) => {
		let body: unknown;
		try {
			body = await c.req.raw.clone().json();
		} catch {
			return next();
		}
		const unknown = namesOf(body).filter((item) => typeof item.name === "string" && !callable.has(item.name));
		if (unknown.length > 0) throw unknownTask(unknown);
		await next();
	};

type Schedule = { delay_seconds?: number; eta?: string; callback_url?: string };

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null;

const unknownTaskResponse = errorResponse("unknown_task (details.callable lists the callable names) or validation_error");

export const tasksByName = createRouter();

tasksByName.openapi(
	enqueueRoute({
		method: "post",
		path: "/tasks",
		tags: ["Enqueue"],
		summary: "Queue any task by name",
		middleware: [knownNames((body) => (isObject(body) && "name" in body ? [{ name: body.name }] : []))],
		request: { headers: idempotencyHeader, body: json(oneTask) },
		responses: { ...enqueueResponses, 400: unknownTaskResponse },
	}),
	async (c) => {
		// The union is built from a list, so its type knows the names, not the schedule fields it adds.
		const { name, input, ...schedule } = c.req.valid("json") as { name: string; input: unknown } & Schedule;
		const task = callable.get(name) as TaskRef;
		const options = enqueueOptions(c.req.valid("header"), schedule);
		return accepted(c, await c.get("ctx").tasks.enqueue(task, input, options));
	},
);

tasksByName.openapi(
	enqueueRoute({
		method: "post",
		path: "/tasks/bulk",
		tags: ["Enqueue"],
		summary: "Queue up to 500 tasks by name, mixed names allowed",
		middleware: [
			knownNames((body) =>
				isObject(body) && Array.isArray(body.tasks)
					? body.tasks.flatMap((item: unknown, index) => (isObject(item) && "name" in item ? [{ index, name: item.name }] : []))
					: [],
			),
		],
		request: { headers: idempotencyHeader, body: json(bulkBody) },
		responses: { ...bulkResponses, 400: unknownTaskResponse },
	}),
	async (c) => {
		const { tasks, ...schedule } = c.req.valid("json");
		const items = tasks.map(({ name, input }) => ({ task: callable.get(name) as TaskRef, input }));
		return acceptedMany(c, await c.get("ctx").tasks.enqueueEach(items, enqueueOptions(c.req.valid("header"), schedule)));
	},
);
