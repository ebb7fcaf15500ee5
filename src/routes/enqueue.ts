// The seed's views: routes that enqueue a task and answer at once with its id,
// one at a time or in bulk.

import type { Context } from "hono";
import * as z from "zod";
import { createRouter } from "../http/app-env";
import { enqueueRateLimit } from "../http/middleware";
import { enqueueRoute } from "../http/openapi";
import { acceptedResponse, bulkAccepted, delayOf, errorResponse, idParam, scheduleFields } from "../http/schemas";
import { processUserData, userId } from "../tasks/process-user-data";
import type { Enqueued, EnqueuedMany } from "../tasks/producer";
import { emailAddress, emailBody, emailSubject, sendEmail } from "../tasks/send-email";

const emailFields = {
	email: emailAddress.meta({ example: "ada@example.com" }),
	subject: emailSubject.meta({ example: "Welcome" }),
	body: emailBody.meta({ example: "Hello from edge-tasks." }),
};

const sendEmailBody = z
	.object({ ...emailFields, ...scheduleFields })
	.strict()
	.meta({ id: "SendEmailRequest" });
const scheduleBody = z.object(scheduleFields).strict().meta({ id: "Schedule" });
const processUsersBody = z
	.object({
		user_ids: z
			.array(userId)
			.min(1)
			.max(1000)
			.meta({ example: [1, 2, 3] }),
		...scheduleFields,
	})
	.strict()
	.meta({ id: "ProcessUsersRequest" });
const sendEmailsBody = z
	.object({ messages: z.array(z.object(emailFields).strict()).min(1).max(500), ...scheduleFields })
	.strict()
	.meta({ id: "SendEmailsRequest" });

const idempotencyHeader = z.object({
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

type Schedule = { delay_seconds?: number | undefined; eta?: string | undefined };

/** The producer's options from the Idempotency-Key header and the schedule; the key covers the schedule as sent. */
const enqueueOptions = (headers: { "idempotency-key"?: string | undefined }, { delay_seconds, eta }: Schedule) => ({
	idempotencyKey: headers["idempotency-key"],
	delaySeconds: delayOf({ delay_seconds, eta }),
	keyCovers: { delay_seconds, eta },
});

const json = <T extends z.ZodType>(schema: T, required = true) => ({ required, content: { "application/json": { schema } } });

/** 202 for a new task; 200 when an Idempotency-Key replayed an earlier one. */
const accepted = (c: Context, { id, replayed }: Enqueued) =>
	c.json({ task_id: id, status: "queued" as const }, replayed ? 200 : 202, { Location: `/tasks/${id}` });

const bodyErrors = {
	400: errorResponse("The body is not valid JSON or fails validation (including delay_seconds / eta)"),
	413: errorResponse("The body is larger than MAX_BODY_BYTES, or a task's input is too large for a queue message"),
	415: errorResponse("The body is not application/json"),
	503: errorResponse(
		"The queue refused the message(s); details list what was not enqueued. Retry (with the same Idempotency-Key)",
	),
};

const enqueueResponses = {
	200: { ...acceptedResponse, description: "Replay: this Idempotency-Key already enqueued this task; nothing new was enqueued" },
	202: acceptedResponse,
	409: errorResponse("A request with this Idempotency-Key is still being recorded; retry"),
	422: errorResponse("This Idempotency-Key was used with a different body"),
	...bodyErrors,
};

const bulkResponses = {
	200: {
		content: { "application/json": { schema: bulkAccepted } },
		description: "Replay: this Idempotency-Key already enqueued these tasks; nothing new was enqueued",
	},
	202: { content: { "application/json": { schema: bulkAccepted } }, description: "Every task is recorded and on the queue" },
	409: errorResponse("A request with this Idempotency-Key is still being recorded; retry"),
	422: errorResponse("This Idempotency-Key was used with a different body"),
	...bodyErrors,
};

/** 202 for new tasks; 200 when an Idempotency-Key replayed an earlier request. */
const acceptedMany = (c: Context, { ids, replayed }: EnqueuedMany) =>
	c.json({ task_ids: ids, status: "queued" as const }, replayed ? 200 : 202);

export const enqueue = createRouter();
enqueue.use("/send-email", enqueueRateLimit);
enqueue.use("/send-emails", enqueueRateLimit);
enqueue.use("/process-user/*", enqueueRateLimit);
enqueue.use("/process-users", enqueueRateLimit);

enqueue.openapi(
	enqueueRoute({
		method: "post",
		path: "/send-email",
		tags: ["Enqueue"],
		summary: "Queue an email",
		request: { headers: idempotencyHeader, body: json(sendEmailBody) },
		responses: enqueueResponses,
	}),
	async (c) => {
		const { email, subject, body, ...schedule } = c.req.valid("json");
		const options = enqueueOptions(c.req.valid("header"), schedule);
		return accepted(c, await c.var.ctx.tasks.enqueue(sendEmail, { recipient: email, subject, body }, options));
	},
);

enqueue.openapi(
	enqueueRoute({
		method: "post",
		path: "/process-user/{user_id}",
		tags: ["Enqueue"],
		summary: "Queue processing of a user",
		request: { headers: idempotencyHeader, params: z.object({ user_id: idParam("user_id") }), body: json(scheduleBody, false) },
		responses: enqueueResponses,
	}),
	async (c) => {
		const { user_id } = c.req.valid("param");
		const options = enqueueOptions(c.req.valid("header"), c.req.valid("json"));
		return accepted(c, await c.var.ctx.tasks.enqueue(processUserData, { user_id }, options));
	},
);

enqueue.openapi(
	enqueueRoute({
		method: "post",
		path: "/process-users",
		tags: ["Enqueue"],
		summary: "Queue processing of up to 1000 users, one task each",
		request: { headers: idempotencyHeader, body: json(processUsersBody) },
		responses: bulkResponses,
	}),
	async (c) => {
		const { user_ids, ...schedule } = c.req.valid("json");
		const inputs = user_ids.map((user_id) => ({ user_id }));
		const options = enqueueOptions(c.req.valid("header"), schedule);
		return acceptedMany(c, await c.var.ctx.tasks.enqueueMany(processUserData, inputs, options));
	},
);

enqueue.openapi(
	enqueueRoute({
		method: "post",
		path: "/send-emails",
		tags: ["Enqueue"],
		summary: "Queue up to 500 emails, one task each",
		request: { headers: idempotencyHeader, body: json(sendEmailsBody) },
		responses: bulkResponses,
	}),
	async (c) => {
		const { messages, ...schedule } = c.req.valid("json");
		const inputs = messages.map(({ email, subject, body }) => ({ recipient: email, subject, body }));
		const options = enqueueOptions(c.req.valid("header"), schedule);
		return acceptedMany(c, await c.var.ctx.tasks.enqueueMany(sendEmail, inputs, options));
	},
);
