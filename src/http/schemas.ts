// Response shapes shared by the routes (and, through @hono/zod-openapi, the
// API description).
import { z } from "@hono/zod-openapi";
import type { TaskRow, UserRow } from "../db/schema";
import { TASK_STATES } from "../tasks/states";

export const errorBody = z
	.object({
		error: z.object({
			code: z.string().openapi({ example: "validation_error" }),
			message: z.string().openapi({ example: "Invalid request json" }),
			details: z.unknown().optional(),
			request_id: z.string().optional(),
		}),
	})
	.openapi("Error");

export const errorResponse = (description: string) => ({
	content: { "application/json": { schema: errorBody } },
	description,
});

export const taskAccepted = z
	.object({
		task_id: z.uuid().openapi({ example: "0b6f1c1e-7c59-4e0f-9a43-2f0d2c1f6a10" }),
		status: z.literal("queued"),
	})
	.openapi("TaskAccepted");

export const acceptedResponse = {
	content: { "application/json": { schema: taskAccepted } },
	headers: z.object({ Location: z.string().openapi({ example: "/tasks/0b6f1c1e-7c59-4e0f-9a43-2f0d2c1f6a10" }) }),
	description: "The task is recorded as PENDING and on the queue",
};

const isoTime = z.iso.datetime().openapi({ example: "2026-11-24T12:00:00.000Z" });

export const taskBody = z
	.object({
		task_id: z.uuid(),
		name: z.string().openapi({ example: "send_email" }),
		status: z.enum(TASK_STATES),
		result: z.unknown().openapi({ example: "Email sent to ada@example.com" }),
		error: z.string().nullable(),
		attempts: z.number().int(),
		created_at: isoTime,
		started_at: isoTime.nullable(),
		finished_at: isoTime.nullable(),
	})
	.openapi("Task");

export function toTaskBody(row: TaskRow): z.infer<typeof taskBody> {
	return {
		task_id: row.id,
		name: row.name,
		status: row.status,
		result: row.result ?? null,
		error: row.error,
		attempts: row.attempts,
		created_at: row.createdAt.toISOString(),
		started_at: row.startedAt?.toISOString() ?? null,
		finished_at: row.finishedAt?.toISOString() ?? null,
	};
}

export const userBody = z
	.object({
		id: z.number().int().openapi({ example: 42 }),
		email: z.email().openapi({ example: "ada@example.com" }),
		name: z.string().nullable().openapi({ example: "Ada Lovelace" }),
		processed: z.boolean(),
		created_at: isoTime,
		updated_at: isoTime,
	})
	.openapi("User");

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
		.openapi({ param: { name, in: "path" }, example: "42", type: "integer" });
