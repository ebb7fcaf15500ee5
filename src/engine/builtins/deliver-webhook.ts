// deliver_webhook: posts a finished task's body to its callback_url, signed in
// the Standard Webhooks format. It is a task of its own, so a slow or failing
// receiver never holds up or fails the task it reports on; it retries with
// backoff like any task and ends FAILURE (listed, retryable) when the receiver
// never takes it. Every attempt sends the same webhook-id (the reported task's
// id) for the receiver to drop repeats by: delivery is at least once.
import * as z from "zod";
import { taskBody } from "../body";
import { defineTask, PermanentError, RetryLater } from "../define";
import { InvalidInputError } from "../errors";
import { MAX_DELAY_SECONDS } from "../limits";
import { errorMessage } from "../log";
import type { Runtime } from "../runtime";
import { getTask } from "../store/tasks";
import { checkCallbackUrl } from "../webhooks/hosts";
import { signatureHeaders } from "../webhooks/sign";

/** How long the receiver has to answer one attempt. */
export const WEBHOOK_TIMEOUT_MS = 10_000;

/** The wait a Retry-After of whole seconds asks for, within what a queue can delay. */
function retryAfter(res: Response): number | undefined {
	const value = res.headers.get("Retry-After");
	if (value === null || !/^\d+$/.test(value.trim())) return undefined;
	return Math.min(MAX_DELAY_SECONDS, Number(value));
}

export const deliverWebhook = defineTask({
	name: "deliver_webhook",
	input: z.object({ task_id: z.string() }).strict(),
	// About ten hours of tries: 30 s, 1 min, 2 min, ... then hourly.
	retry: { maxRetries: 12, baseDelaySeconds: 30, maxDelaySeconds: 3600 },
	timeoutSeconds: 30,
	async run(rt: Runtime, { task_id }) {
		const task = await getTask(rt.db, task_id);
		if (!task?.callbackUrl)
			throw new PermanentError(`task ${task_id} has no webhook to deliver (its record expired, or it had none)`);
		const { webhookHosts, webhookSecret } = rt.config;
		if (webhookSecret === undefined) throw new PermanentError("WEBHOOK_SECRET is not set");
		let url: string;
		try {
			// Checked again: the allowlist may have changed since the task was enqueued.
			url = checkCallbackUrl(task.callbackUrl, webhookHosts);
		} catch (err) {
			if (err instanceof InvalidInputError) throw new PermanentError(err.message);
			throw err;
		}
		const body = JSON.stringify(taskBody(task));
		const signed = await signatureHeaders(webhookSecret, task.id, Math.floor(Date.now() / 1000), body);
		let res: Response;
		try {
			res = await fetch(url, {
				method: "POST",
				body,
				headers: { "Content-Type": "application/json", "User-Agent": "edge-tasks-webhooks", ...signed },
				// A redirect could lead anywhere, past the allowlist: it counts as a failure.
				redirect: "manual",
				signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
			});
		} catch (err) {
			throw new Error(`webhook not delivered: ${errorMessage(err)}`);
		}
		await res.body?.cancel();
		if (res.ok) return { status: res.status, webhook_id: task.id };
		if (res.status === 410) throw new PermanentError("webhook refused: the receiver answered 410 Gone");
		const answer =
			res.status >= 300 && res.status < 400
				? `${res.status} (a redirect to ${res.headers.get("Location") ?? "nowhere"}, not followed)`
				: String(res.status);
		const wait = retryAfter(res);
		const message = `webhook not delivered: the receiver answered ${answer}`;
		throw wait === undefined ? new Error(message) : new RetryLater(message, wait);
	},
});
