// The seed's views: routes that enqueue a task and answer at once with its id,
// one at a time or in bulk. Each route is rate limited per token by the same
// call that documents it (enqueueRoute, taskRoute).
import * as z from "zod";
import { AppError } from "../errors";
import {
	accepted,
	acceptedMany,
	bulkResponses,
	enqueueOptions,
	enqueueResponses,
	idempotencyHeader,
	json,
	taskRoute,
} from "../http/enqueue-route";
import { enqueueRoute } from "../http/openapi";
import { createRouter } from "../http/openapi-router";
import { idParam, scheduleFields } from "../http/schemas";
import { processUserData, userId } from "../tasks/process-user-data";
import { emailAddress, emailBody, emailSubject, sendEmail } from "../tasks/send-email";
import { stepsOf, workflowAccepted, workflowStep } from "./workflows";

const emailFields = {
	email: emailAddress.meta({ example: "ada@example.com" }),
	subject: emailSubject.meta({ example: "Welcome" }),
	body: emailBody.meta({ example: "Hello from edge-tasks." }),
};

const scheduleBody = z.object(scheduleFields).strict().meta({ id: "Schedule" });
const processUsersBody = z
	.object({
		user_ids: z
			.array(userId)
			.min(1)
			.max(1000)
			.meta({ example: [1, 2, 3] }),
		// biome-ignore lint/suspicious/noThenProperty: the API's name for a chord's callback, as on POST /workflows
		then: workflowStep.optional().meta({
			description:
				'A task to run once every user is processed, with their outcomes in its input (a chord), e.g. { "name": "send_report", "input": { "to": "ops@example.com" } }',
		}),
		...scheduleFields,
	})
	.strict()
	.meta({ id: "ProcessUsersRequest" });
const sendEmailsBody = z
	.object({ messages: z.array(z.object(emailFields).strict()).min(1).max(500), ...scheduleFields })
	.strict()
	.meta({ id: "SendEmailsRequest" });

export const enqueue = createRouter();

// The API calls the recipient `email`; the task, `recipient`.
taskRoute(enqueue, {
	path: "/send-email",
	task: sendEmail,
	summary: "Queue an email",
	schemaId: "SendEmailRequest",
	body: {
		fields: z.object(emailFields),
		toInput: ({ email, subject, body }) => ({ recipient: email, subject, body }),
	},
});

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
		return accepted(c, await c.get("ctx").tasks.enqueue(processUserData, { user_id }, options));
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
		const { user_ids, then, ...schedule } = c.req.valid("json");
		const inputs = user_ids.map((user_id) => ({ user_id }));
		const options = enqueueOptions(c.req.valid("header"), schedule);
		if (!then) return acceptedMany(c, await c.get("ctx").tasks.enqueueMany(processUserData, inputs, options));
		// A chord: the users as its group, `then` as its callback.
		if (schedule.callback_url !== undefined) {
			throw new AppError(400, "validation_error", "callback_url is not taken with then", [
				{ path: "callback_url", message: "cannot be combined with then" },
			]);
		}
		const group = inputs.map((input) => ({ task: processUserData, input }));
		const { tasks } = c.get("ctx");
		return workflowAccepted(c, await tasks.enqueueWorkflow({ group, callback: stepsOf([then], "then")[0] }, options));
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
		return acceptedMany(c, await c.get("ctx").tasks.enqueueMany(sendEmail, inputs, options));
	},
);
