// What every enqueue route shares, and taskRoute(): a route that enqueues one
// task, in one call. Its body is the task's own input schema (declared once,
// in the task's file) plus the schedule fields; it takes an Idempotency-Key,
// answers 202 with the task id, and is rate limited per token, each documented
// in /openapi.json by the same call that enforces it.
import type { Context } from "hono";
import * as z from "zod";
import type { Enqueued, EnqueuedMany, EnqueueOptions, TaskRef } from "../engine";
import { enqueueRoute } from "./openapi";
import type { ApiRouter } from "./openapi-router";
import { acceptedResponse, bulkAccepted, delayOf, errorResponse, scheduleFields } from "./schemas";

export const idempotencyHeader = z.object({
	"idempotency-key": z
		.string()
		.regex(/^[\x21-\x7e]{1,255}$/, { error: "must be 1 to 255 printable ASCII characters" })
		.optional()
		.meta({
			description:
				"Repeat a request safely: the same key with the same body answers as the first request did (200 with the same task ids) and enqueues nothing.",
			example: "order-1234-welcome-mail",
		}),
});

type Schedule = { delay_seconds?: number | undefined; eta?: string | undefined; callback_url?: string | undefined };

/**
 * The producer's options from the Idempotency-Key header and the schedule; the
 * key covers the schedule as sent (and the engine adds the webhook).
 */
export const enqueueOptions = (
	headers: { "idempotency-key"?: string | undefined },
	{ delay_seconds, eta, callback_url }: Schedule,
): EnqueueOptions => ({
	idempotencyKey: headers["idempotency-key"],
	delaySeconds: delayOf({ delay_seconds, eta }),
	keyCovers: { delay_seconds, eta },
	callbackUrl: callback_url,
});

export const json = <T extends z.ZodType>(schema: T, required = true) => ({
	required,
	content: { "application/json": { schema } },
});

/** 202 for a new task; 200 when an Idempotency-Key replayed an earlier one. */
export const accepted = (c: Context, { id, replayed }: Enqueued) =>
	c.json({ task_id: id, status: "queued" as const }, replayed ? 200 : 202, { Location: `/tasks/${id}` });

/** 202 for new tasks; 200 when an Idempotency-Key replayed an earlier request. */
export const acceptedMany = (c: Context, { ids, replayed }: EnqueuedMany) =>
	c.json({ task_ids: ids, status: "queued" as const }, replayed ? 200 : 202);

const keyInFlight = errorResponse(
	"A request with this Idempotency-Key is still being recorded or sent; ask again after Retry-After (its send may yet fail)",
	z.object({ "Retry-After": z.string().meta({ description: "Seconds to wait before repeating the request", example: "1" }) }),
);

const bodyErrors = {
	400: errorResponse("The body is not valid JSON or fails validation (including delay_seconds / eta)"),
	413: errorResponse("The body is larger than MAX_BODY_BYTES, or a task's input is too large for a queue message"),
	415: errorResponse("The body is not application/json"),
	503: errorResponse(
		"The queue refused the message(s); details list what was not enqueued. Retry (with the same Idempotency-Key)",
	),
};

export const enqueueResponses = {
	200: { ...acceptedResponse, description: "Replay: this Idempotency-Key already enqueued this task; nothing new was enqueued" },
	202: acceptedResponse,
	409: keyInFlight,
	422: errorResponse("This Idempotency-Key was used with a different body"),
	...bodyErrors,
};

export const bulkResponses = {
	200: {
		content: { "application/json": { schema: bulkAccepted } },
		description: "Replay: this Idempotency-Key already enqueued these tasks; nothing new was enqueued",
	},
	202: { content: { "application/json": { schema: bulkAccepted } }, description: "Every task is recorded and on the queue" },
	409: keyInFlight,
	422: errorResponse("This Idempotency-Key was used with a different body"),
	...bodyErrors,
};

type ObjectSchema = z.ZodObject<z.ZodRawShape>;

export interface TaskRouteOptions<S extends ObjectSchema, B extends ObjectSchema> {
	/** OpenAPI style path, e.g. /resize-image. */
	path: string;
	task: TaskRef<S>;
	summary: string;
	/** The request schema's component name in /openapi.json, e.g. ResizeImageRequest. */
	schemaId: string;
	/**
	 * The body's fields when they are not the task's input as is (another name
	 * for a field, say), with `toInput` to turn one into the other.
	 */
	body?: { fields: B; toInput(body: z.output<B>): z.input<S> };
}

/** POST `path` enqueues `task`; see the module comment for what it answers. */
export function taskRoute<S extends ObjectSchema, B extends ObjectSchema = S>(
	router: ApiRouter,
	options: TaskRouteOptions<S, B>,
): void {
	const fields: ObjectSchema = options.body?.fields ?? options.task.input;
	const body = fields.extend(scheduleFields).strict().meta({ id: options.schemaId });
	const toInput = (value: Record<string, unknown>) =>
		options.body ? options.body.toInput(value as z.output<B>) : (value as z.input<S>);
	router.openapi(
		enqueueRoute({
			method: "post",
			path: options.path,
			tags: ["Enqueue"],
			summary: options.summary,
			request: { headers: idempotencyHeader, body: json(body) },
			responses: enqueueResponses,
		}),
		async (c) => {
			const { delay_seconds, eta, callback_url, ...rest } = c.req.valid("json") as Record<string, unknown> & Schedule;
			const { tasks } = c.get("ctx");
			const enqueued = await tasks.enqueue(
				options.task,
				toInput(rest),
				enqueueOptions(c.req.valid("header"), { delay_seconds, eta, callback_url }),
			);
			return accepted(c, enqueued);
		},
	);
}
