// The seed's views: routes that enqueue a task and answer at once with its id.
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { createRouter } from "../http/app-env";
import { acceptedResponse, errorResponse, idParam } from "../http/schemas";
import { processUserData } from "../tasks/process-user-data";
import { emailAddress, emailBody, emailSubject, sendEmail } from "../tasks/send-email";

const sendEmailBody = z
	.object({
		email: emailAddress.openapi({ example: "ada@example.com" }),
		subject: emailSubject.openapi({ example: "Welcome" }),
		body: emailBody.openapi({ example: "Hello from edge-tasks." }),
	})
	.strict()
	.openapi("SendEmailRequest");

const accepted = (c: Context, taskId: string) =>
	c.json({ task_id: taskId, status: "queued" as const }, 202, { Location: `/tasks/${taskId}` });

export const enqueue = createRouter()
	.openapi(
		createRoute({
			method: "post",
			path: "/send-email",
			tags: ["Tasks"],
			summary: "Queue an email",
			request: { body: { required: true, content: { "application/json": { schema: sendEmailBody } } } },
			responses: {
				202: acceptedResponse,
				400: errorResponse("The body is not valid JSON or fails validation"),
				413: errorResponse("The body is larger than MAX_BODY_BYTES"),
				415: errorResponse("The body is not application/json"),
				503: errorResponse("The queue refused the message; nothing was enqueued"),
			},
		}),
		async (c) => {
			const { email, subject, body } = c.req.valid("json");
			return accepted(c, await c.var.ctx.tasks.enqueue(sendEmail, { recipient: email, subject, body }));
		},
	)
	.openapi(
		createRoute({
			method: "post",
			path: "/process-user/{user_id}",
			tags: ["Tasks"],
			summary: "Queue processing of a user",
			request: { params: z.object({ user_id: idParam("user_id") }) },
			responses: {
				202: acceptedResponse,
				400: errorResponse("user_id is not a positive integer"),
				503: errorResponse("The queue refused the message; nothing was enqueued"),
			},
		}),
		async (c) => {
			const { user_id } = c.req.valid("param");
			return accepted(c, await c.var.ctx.tasks.enqueue(processUserData, { user_id }));
		},
	);
