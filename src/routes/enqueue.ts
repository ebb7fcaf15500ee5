// The seed's views: routes that enqueue a task and answer at once with its id.
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { createRouter } from "../http/app-env";
import { acceptedResponse, errorResponse, idParam } from "../http/schemas";
import { processUserData } from "../tasks/process-user-data";
import type { Enqueued } from "../tasks/producer";
import { emailAddress, emailBody, emailSubject, sendEmail } from "../tasks/send-email";

const sendEmailBody = z
	.object({
		email: emailAddress.openapi({ example: "ada@example.com" }),
		subject: emailSubject.openapi({ example: "Welcome" }),
		body: emailBody.openapi({ example: "Hello from edge-tasks." }),
	})
	.strict()
	.openapi("SendEmailRequest");

const idempotencyHeader = z.object({
	"idempotency-key": z
		.string()
		.regex(/^[\x21-\x7e]{1,255}$/, { error: "must be 1 to 255 printable ASCII characters" })
		.optional()
		.openapi({
			description: "Repeat a request safely: the same key with the same body returns the first task (200) and enqueues nothing.",
			example: "order-1234-welcome-mail",
		}),
});

/** 202 for a new task; 200 when an Idempotency-Key replayed an earlier one. */
const accepted = (c: Context, { id, replayed }: Enqueued) =>
	c.json({ task_id: id, status: "queued" as const }, replayed ? 200 : 202, { Location: `/tasks/${id}` });

const enqueueResponses = {
	200: { ...acceptedResponse, description: "Replay: this Idempotency-Key already enqueued this task; nothing new was enqueued" },
	202: acceptedResponse,
	409: errorResponse("A request with this Idempotency-Key is still being recorded; retry"),
	422: errorResponse("This Idempotency-Key was used with a different body"),
	503: errorResponse("The queue refused the message; nothing was enqueued. Retry, with the same Idempotency-Key"),
};

export const enqueue = createRouter()
	.openapi(
		createRoute({
			method: "post",
			path: "/send-email",
			tags: ["Tasks"],
			summary: "Queue an email",
			request: {
				headers: idempotencyHeader,
				body: { required: true, content: { "application/json": { schema: sendEmailBody } } },
			},
			responses: {
				...enqueueResponses,
				400: errorResponse("The body is not valid JSON or fails validation"),
				413: errorResponse("The body is larger than MAX_BODY_BYTES"),
				415: errorResponse("The body is not application/json"),
			},
		}),
		async (c) => {
			const { email, subject, body } = c.req.valid("json");
			const idempotencyKey = c.req.valid("header")["idempotency-key"];
			return accepted(c, await c.var.ctx.tasks.enqueue(sendEmail, { recipient: email, subject, body }, { idempotencyKey }));
		},
	)
	.openapi(
		createRoute({
			method: "post",
			path: "/process-user/{user_id}",
			tags: ["Tasks"],
			summary: "Queue processing of a user",
			request: { headers: idempotencyHeader, params: z.object({ user_id: idParam("user_id") }) },
			responses: {
				...enqueueResponses,
				400: errorResponse("user_id is not a positive integer"),
			},
		}),
		async (c) => {
			const { user_id } = c.req.valid("param");
			const idempotencyKey = c.req.valid("header")["idempotency-key"];
			return accepted(c, await c.var.ctx.tasks.enqueue(processUserData, { user_id }, { idempotencyKey }));
		},
	);
