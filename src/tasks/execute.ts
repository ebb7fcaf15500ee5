// Runs one delivered task: the body of Celery's worker loop for one message.
// Shared by the queue consumer and eager mode, so both record states alike.
import type { AppContext } from "../context";
import type { TaskRow } from "../db/schema";
import { errorMessage, type Logger } from "../log";
import { backoffSeconds, type Json, PermanentError, RetryLater, type TaskDefinition, type TaskInfo } from "./define";
import { envelopeSchema } from "./envelope";
import { type Registry, registry } from "./registry";
import { claim, getEffect, getTask, markFailure, markRetry, markSuccess, recordEffect } from "./store";

/** What to do with the message that carried a delivery. */
export type Delivery =
	| { outcome: "success" | "failure"; task: TaskRow; ack: true }
	| { outcome: "retry"; task: TaskRow; ack: false; delaySeconds: number }
	| { outcome: "busy"; ack: false; delaySeconds: number }
	| { outcome: "skipped" | "rejected"; ack: true; reason: string };

const MAX_LOGGED_BODY = 512;
// Queues will not delay a message longer than this.
const MAX_QUEUE_DELAY_SECONDS = 43_200;

const clampDelay = (seconds: number) => Math.min(MAX_QUEUE_DELAY_SECONDS, Math.max(0, Math.ceil(seconds)));

/** The raw body as a short string for logs: poison can be arbitrarily large. */
export function truncatedBody(body: unknown): string {
	let text: string;
	try {
		text = typeof body === "string" ? body : (JSON.stringify(body) ?? String(body));
	} catch {
		text = String(body);
	}
	return text.length > MAX_LOGGED_BODY ? `${text.slice(0, MAX_LOGGED_BODY)}...(${text.length} chars)` : text;
}

export async function execute(ctx: AppContext, body: unknown, tasks: Registry = registry): Promise<Delivery> {
	const envelope = envelopeSchema.safeParse(body);
	if (!envelope.success) {
		const reason = "message is not a task envelope";
		ctx.log.warn("poison message", { reason, body: truncatedBody(body) });
		return { outcome: "rejected", ack: true, reason };
	}
	const { id, name, input } = envelope.data;
	const log = ctx.log.child({ task_id: id, name });

	const task = tasks.get(name);
	if (!task) return reject(ctx, log, id, `unknown task "${name}"`, body);
	const parsed = task.input.safeParse(input);
	if (!parsed.success) {
		const fields = parsed.error.issues.map((i) => i.path.join(".") || "(input)").join(", ");
		return reject(ctx, log, id, `invalid input for ${name}: ${fields}`, body);
	}

	const now = new Date();
	const claimed = await claim(ctx.db, id, task.timeoutSeconds, now);
	if (!claimed) return notClaimed(ctx, log, id, now);
	log.info("task transition", { from: "PENDING|RETRY", to: "STARTED", attempt: claimed.attempts });
	return run(ctx, log, task, parsed.data, claimed);
}

async function run(ctx: AppContext, log: Logger, task: TaskDefinition, input: unknown, claimed: TaskRow): Promise<Delivery> {
	const { id, attempts: attempt } = claimed;
	const info: TaskInfo = {
		id,
		name: task.name,
		attempt,
		async once<T extends Json>(key: string, effect: () => Promise<T>): Promise<T> {
			const recorded = await getEffect(ctx.db, id, key);
			if (recorded !== undefined) {
				log.info("effect already done; not repeating it", { key, attempt });
				return recorded as T;
			}
			const value = await effect();
			await recordEffect(ctx.db, id, key, value);
			return value;
		},
	};
	const startedAt = Date.now();
	const elapsed = () => Date.now() - startedAt;

	let result: Json;
	try {
		result = await withTimeout(task.run(ctx, input, info), task.timeoutSeconds);
	} catch (err) {
		const error = errorMessage(err);
		const retriesLeft = task.retry.maxRetries - (attempt - 1);
		if (err instanceof PermanentError || retriesLeft <= 0) {
			const row = await markFailure(ctx.db, id, error, new Date(), attempt);
			log.warn("task transition", { from: "STARTED", to: "FAILURE", attempt, error, duration_ms: elapsed() });
			return row ? { outcome: "failure", ack: true, task: row } : lostLease(log, attempt);
		}
		const delaySeconds = clampDelay(err instanceof RetryLater ? err.delaySeconds : backoffSeconds(task.retry, attempt));
		const row = await markRetry(ctx.db, id, attempt, error, new Date(Date.now() + delaySeconds * 1000));
		log.warn("task transition", {
			from: "STARTED",
			to: "RETRY",
			attempt,
			error,
			delay_seconds: delaySeconds,
			duration_ms: elapsed(),
		});
		return row ? { outcome: "retry", ack: false, task: row, delaySeconds } : lostLease(log, attempt);
	}
	const row = await markSuccess(ctx.db, id, attempt, result);
	log.info("task transition", { from: "STARTED", to: "SUCCESS", attempt, duration_ms: elapsed() });
	return row ? { outcome: "success", ack: true, task: row } : lostLease(log, attempt);
}

/** Why this delivery may not run the task, and what to do with its message. */
async function notClaimed(ctx: AppContext, log: Logger, id: string, now: Date): Promise<Delivery> {
	const current = await getTask(ctx.db, id);
	if (current?.status === "STARTED" && current.leaseExpiresAt) {
		// Another delivery is running it: come back when its lease runs out.
		const delaySeconds = clampDelay(Math.max(1, (current.leaseExpiresAt.getTime() - now.getTime()) / 1000));
		log.info("task is running elsewhere; delivery deferred", { attempt: current.attempts, delay_seconds: delaySeconds });
		return { outcome: "busy", ack: false, delaySeconds };
	}
	const reason = current ? `task is ${current.status}` : "task is not recorded";
	log.info("delivery skipped", { reason });
	return { outcome: "skipped", ack: true, reason };
}

async function reject(ctx: AppContext, log: Logger, id: string, reason: string, body: unknown): Promise<Delivery> {
	await markFailure(ctx.db, id, reason);
	log.warn("poison message", { reason, body: truncatedBody(body) });
	return { outcome: "rejected", ack: true, reason };
}

// The run outlived its lease and another delivery claimed the task; that
// delivery's outcome stands.
function lostLease(log: Logger, attempt: number): Delivery {
	log.warn("lease lost before the outcome was recorded; the newer run decides", { attempt });
	return { outcome: "skipped", ack: true, reason: "lease lost" };
}

class TaskTimeoutError extends Error {
	override readonly name = "TaskTimeoutError";
}

function withTimeout<T>(work: Promise<T>, seconds: number): Promise<T> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	const timeout = new Promise<never>((_, rejectTimeout) => {
		timer = setTimeout(() => rejectTimeout(new TaskTimeoutError(`task timed out after ${seconds} s`)), seconds * 1000);
	});
	return Promise.race([work, timeout]).finally(() => {
		if (timer !== undefined) clearTimeout(timer);
	});
}
