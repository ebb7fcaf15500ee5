// Response shapes shared by the routes (and, through src/http/openapi-router.ts,
// the API description).
import * as z from "zod";
import type { UserRow } from "../db/schema";
import { taskBody as engineTaskBody, limits, TASK_STATES, type TaskRow } from "../engine";
import { AppError } from "../errors";

const { MAX_DELAY_SECONDS, MAX_SCHEDULE_SECONDS } = limits;

export const errorBody = z
	.object({
		error: z.object({
			code: z.string().meta({ example: "validation_error" }),
			message: z.string().meta({ example: "Invalid request json" }),
			details: z.unknown().optional(),
			request_id: z.string().optional(),
		}),
	})
	.meta({ id: "Error" });

export const errorResponse = (description: string, headers?: z.ZodObject<z.ZodRawShape>) => ({
	content: { "application/json": { schema: errorBody } },
	description,
	...(headers ? { headers } : {}),
});

export const taskAccepted = z
	.object({
		task_id: z.uuid().meta({ example: "0b6f1c1e-7c59-4e0f-9a43-2f0d2c1f6a10" }),
		status: z.literal("queued"),
	})
	.meta({ id: "TaskAccepted" });

export const acceptedResponse = {
	content: { "application/json": { schema: taskAccepted } },
	headers: z.object({ Location: z.string().meta({ example: "/tasks/0b6f1c1e-7c59-4e0f-9a43-2f0d2c1f6a10" }) }),
	description: "The task is on the queue; GET its Location for its state",
};

const isoTime = z.iso.datetime().meta({ example: "2026-11-24T12:00:00.000Z" });

export const taskBody = z
	.object({
		task_id: z.uuid(),
		name: z
			.string()
			.nullable()
			.meta({ example: "send_email", description: "null while the task is on the queue, not yet seen by a consumer" }),
		status: z.enum(TASK_STATES),
		result: z.unknown().meta({ example: "Email sent to ada@example.com" }),
		error: z.string().nullable(),
		attempts: z.number().int(),
		created_at: isoTime,
		started_at: isoTime.nullable(),
		finished_at: isoTime.nullable(),
		due_at: isoTime.nullable().meta({ description: "When the first run is due (later than created_at for a delayed task)" }),
		next_attempt_at: isoTime.nullable().meta({ description: "While RETRY: when the next attempt is due" }),
		retry_of: z.uuid().nullable().meta({ description: "The task this one repeats (POST /tasks/{task_id}/retry)" }),
		callback_url: z.url().nullable().meta({ description: "Where the completion webhook goes, if the task has one" }),
		callback_task_id: z
			.uuid()
			.nullable()
			.meta({ description: "The deliver_webhook task that posts the webhook, once this task is final" }),
		workflow_id: z.uuid().nullable().meta({ description: "The workflow (GET /workflows/{workflow_id}) this task is a step of" }),
		waiting: z.enum(["rate_limited", "concurrency_limited", "limiter_unavailable"]).nullable().meta({
			description:
				"While PENDING or RETRY: the flow limit its last delivery waited for; due_at (PENDING) or next_attempt_at (RETRY) says until when",
		}),
		history: z
			.array(
				z.object({
					attempt: z.number().int().meta({ description: "The run that failed; 0 when the task never ran" }),
					at: isoTime,
					status: z.enum(["RETRY", "FAILURE"]),
					error: z.string(),
					delay_seconds: z.number().int().nullable().meta({ description: "For RETRY: the wait before the next attempt" }),
				}),
			)
			.meta({ description: "Every failed attempt, oldest first" }),
	})
	.meta({ id: "Task" });

/** A task as the API, the RPC entrypoint and a webhook answer it (the engine's taskBody). */
export type TaskBody = z.infer<typeof taskBody>;

// The engine builds the body; this schema documents it, and the compiler holds the two together.
export const toTaskBody: (row: TaskRow) => TaskBody = engineTaskBody;

export const userBody = z
	.object({
		id: z.number().int().meta({ example: 42 }),
		email: z.email().meta({ example: "ada@example.com" }),
		name: z.string().nullable().meta({ example: "Ada Lovelace" }),
		processed: z.boolean(),
		created_at: isoTime,
		updated_at: isoTime,
	})
	.meta({ id: "User" });

export function toUserBody(row: UserRow): z.infer<typeof userBody> {
	return {
		id: row.id,
		email: row.email,
		name: row.name,
		processed: row.processed,
		created_at: row.createdAt.toISOString(),
		updated_at: row.updatedAt.toISOString(),
	};
}

/** A positive integer id in a path segment: digits only, no sign, no leading zero. */
export const idParam = (name: string) =>
	z
		.string()
		.regex(/^[1-9][0-9]{0,15}$/, { error: "must be a positive integer" })
		.transform(Number)
		.pipe(z.number().max(Number.MAX_SAFE_INTEGER, { error: "is too large" }))
		.meta({ description: `${name}: a positive integer`, example: "42" });

/** Countdown or ETA, and the completion webhook: shared by every enqueue route's body. */
export const scheduleFields = {
	delay_seconds: z
		.number()
		.int()
		.min(0)
		.max(MAX_SCHEDULE_SECONDS, { error: `must be at most ${MAX_SCHEDULE_SECONDS} (365 days)` })
		.optional()
		.meta({
			description: `Run no sooner than this many seconds from now (0 to ${MAX_SCHEDULE_SECONDS}, 365 days). Past ${MAX_DELAY_SECONDS} (12 hours, a queue's longest delay) the task waits in D1 and is handed to the queue when due, to the second.`,
			example: 60,
		}),
	eta: z.iso.datetime({ offset: true }).optional().meta({
		description: "Run no sooner than this instant (ISO 8601; in the past means now; at most 365 days ahead).",
		example: "2026-11-24T18:00:00Z",
	}),
	callback_url: z.string().optional().meta({
		description:
			"POST the task's body here, signed (Standard Webhooks), once it is SUCCESS, FAILURE or REVOKED: https, to a host in WEBHOOK_ALLOWED_HOSTS. For a bulk request, each task's own webhook.",
		example: "https://hooks.example.com/edge-tasks",
	}),
};

/** The delay in seconds a request asked for, from delay_seconds or eta. */
export function delayOf(schedule: { delay_seconds?: number | undefined; eta?: string | undefined }, now = Date.now()): number {
	if (schedule.delay_seconds !== undefined && schedule.eta !== undefined) {
		throw new AppError(400, "validation_error", "Give delay_seconds or eta, not both", [
			{ path: "eta", message: "cannot be combined with delay_seconds" },
		]);
	}
	if (schedule.eta === undefined) return schedule.delay_seconds ?? 0;
	const delay = Math.max(0, Math.ceil((Date.parse(schedule.eta) - now) / 1000));
	if (delay > MAX_SCHEDULE_SECONDS) {
		throw new AppError(400, "validation_error", "eta is more than 365 days ahead", [
			{ path: "eta", message: `must be within ${MAX_SCHEDULE_SECONDS} seconds from now` },
		]);
	}
	return delay;
}

export const bulkAccepted = z
	.object({
		task_ids: z
			.array(z.uuid())
			.meta({ description: "One id per item, in input order (and with `then`, the callback's id last)" }),
		workflow_id: z.uuid().optional().meta({ description: "With `then`: the chord, at GET /workflows/{workflow_id}" }),
		status: z.literal("queued"),
	})
	.meta({ id: "BulkAccepted" });
