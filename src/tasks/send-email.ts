// send_email(recipient, subject, body): the seed's first task.
import * as z from "zod";
import { defineTask } from "./define";

/** Field rules shared by the task input and the HTTP body. */
export const emailAddress = z.email({ error: "must be an email address" }).max(254);
export const emailSubject = z
	.string()
	.min(1)
	.refine((s) => !/[\r\n]/.test(s), { error: "must not contain line breaks" })
	// RFC 5322 caps a line at 998 octets; the subject must fit on one.
	.refine((s) => new TextEncoder().encode(s).length <= 998, { error: "must be at most 998 bytes in UTF-8" });
// Within a queue message (128 KB) whatever the script: 50,000 characters of
// CJK text are about 150 KB of UTF-8.
export const MAX_EMAIL_BODY_CHARS = 50_000;
export const emailBody = z
	.string()
	.max(MAX_EMAIL_BODY_CHARS)
	.refine((s) => new TextEncoder().encode(s).length <= 100_000, { error: "must be at most 100,000 bytes in UTF-8" });

/** The recipient's domain, as the rate limit keys it (domains are case-insensitive). */
export const domainOf = (address: string) => address.slice(address.lastIndexOf("@") + 1).toLowerCase();

export const sendEmail = defineTask({
	name: "send_email",
	input: z.object({ recipient: emailAddress, subject: emailSubject, body: emailBody }).strict(),
	retry: { maxRetries: 5, baseDelaySeconds: 5, maxDelaySeconds: 300 },
	timeoutSeconds: 60,
	// Receiving providers throttle senders per domain: EMAIL_RATE_PER_DOMAIN a minute to each.
	rateLimit: { limit: (ctx) => ctx.config.emailRatePerDomain, periodSeconds: 60, key: (input) => domainOf(input.recipient) },
	async run(ctx, { recipient, subject, body }, task) {
		// Recorded in D1 once the binding accepts the message: a redelivery after
		// that (a crash before SUCCESS was written) finds the record and does not
		// send again.
		await task.once("email", async () => {
			const sent = await ctx.mailer.send({
				to: recipient,
				subject,
				text: body,
				// Derived from the task id: a resend of the same task is recognisably
				// the same message. Cloudflare's send_email replaces Message-ID with
				// its own, so the id also travels in X-Task-Id, which it keeps.
				messageId: `<task-${task.id}@${ctx.config.mailDomain}>`,
				headers: { "X-Task-Id": task.id },
			});
			return { message_id: sent.messageId, provider_message_id: sent.providerMessageId };
		});
		return `Email sent to ${recipient}`;
	},
});
