// send_report(to, results): the callback of a chord. It receives every
// member's outcome in member order (the engine fills `results` in once the last
// member is final) and emails a summary: how many succeeded, and each line.
// Failed members are reported, not hidden: the callback decides what a
// failure means, and here it means a line saying so.
import * as z from "zod";
import { MAX_GROUP_MEMBERS } from "../engine";
import { defineTask } from "./define";
import { emailAddress, emailSubject, MAX_EMAIL_BODY_CHARS } from "./send-email";

const outcome = z.object({
	task_id: z.string(),
	name: z.string(),
	status: z.enum(["SUCCESS", "FAILURE", "REVOKED"]),
	result: z.unknown(),
	error: z.string().nullable(),
});

const line = (o: z.infer<typeof outcome>) =>
	`- ${o.name} ${o.task_id}: ${o.status === "SUCCESS" ? JSON.stringify(o.result) : `${o.status} (${o.error ?? "no error recorded"})`}`;

export const sendReport = defineTask({
	name: "send_report",
	input: z
		.object({
			to: emailAddress,
			subject: emailSubject.default("Your edge-tasks report"),
			results: z.array(outcome).max(MAX_GROUP_MEMBERS),
		})
		.strict(),
	retry: { maxRetries: 5, baseDelaySeconds: 5, maxDelaySeconds: 300 },
	timeoutSeconds: 60,
	async run(ctx, { to, subject, results }, task) {
		const succeeded = results.filter((o) => o.status === "SUCCESS").length;
		const summary = `${succeeded} of ${results.length} tasks succeeded.`;
		const body = [summary, "", ...results.map(line)].join("\n").slice(0, MAX_EMAIL_BODY_CHARS);
		await task.once("email", async () => {
			const sent = await ctx.mailer.send({
				to,
				subject,
				text: body,
				messageId: `<task-${task.id}@${ctx.config.mailDomain}>`,
				headers: { "X-Task-Id": task.id },
			});
			return { message_id: sent.messageId };
		});
		return { to, succeeded, failed: results.length - succeeded };
	},
});
