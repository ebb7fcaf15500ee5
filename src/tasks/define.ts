// defineTask: the analog of Celery's @app.task. A task is a name, a zod schema
// for its input (the producer validates with it, the consumer parses with it),
// a retry policy, and a run function that receives the batch's context.
import type { z } from "zod";
import type { AppContext } from "../context";
import { AppError } from "../errors";

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** What a running task knows about itself. */
export interface TaskInfo {
	id: string;
	name: string;
	/** 1 on the first run, 2 on the first retry, ... */
	attempt: number;
	/**
	 * Runs `effect` at most once for this task, across redeliveries and retries:
	 * the first completed run's value is recorded in D1 and returned to every
	 * later run instead of running `effect` again. Wrap each side effect that
	 * must not repeat (sending an email, charging a card) in its own key.
	 */
	once<T extends Json>(key: string, effect: () => Promise<T>): Promise<T>;
}

export interface RetryPolicy {
	/** Retries after the first run; the task runs at most maxRetries + 1 times. */
	maxRetries: number;
	/** Exponential backoff with full jitter: a delay drawn from [0, min(max, base * 2^(retry - 1))]. */
	baseDelaySeconds: number;
	maxDelaySeconds: number;
}

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ maxRetries: 3, baseDelaySeconds: 10, maxDelaySeconds: 600 });

export interface TaskDefinition<S extends z.ZodType = z.ZodType, R extends Json = Json> {
	readonly name: string;
	readonly input: S;
	readonly retry: RetryPolicy;
	/**
	 * How long one run may take. The claiming delivery holds the task this long
	 * (its lease); past it the run counts as failed and another delivery may
	 * claim the task.
	 */
	readonly timeoutSeconds: number;
	run(ctx: AppContext, input: z.output<S>, task: TaskInfo): Promise<R>;
}

export interface TaskOptions<S extends z.ZodType, R extends Json> {
	name: string;
	input: S;
	retry?: Partial<RetryPolicy>;
	timeoutSeconds?: number;
	run(ctx: AppContext, input: z.output<S>, task: TaskInfo): Promise<R>;
}

// Queues cannot delay a message by more than 12 hours.
const MAX_DELAY_SECONDS = 43_200;
// A queue consumer invocation may run for 15 minutes of wall time; a lease
// longer than that would outlive any consumer that could hold it.
const MAX_TIMEOUT_SECONDS = 900;

export function defineTask<S extends z.ZodType, R extends Json>(options: TaskOptions<S, R>): TaskDefinition<S, R> {
	const retry = { ...DEFAULT_RETRY, ...options.retry };
	const timeoutSeconds = options.timeoutSeconds ?? 300;
	if (
		!(
			retry.maxRetries >= 0 &&
			retry.baseDelaySeconds >= 0 &&
			retry.maxDelaySeconds >= retry.baseDelaySeconds &&
			retry.maxDelaySeconds <= MAX_DELAY_SECONDS
		)
	) {
		throw new Error(`task ${options.name}: invalid retry policy ${JSON.stringify(retry)}`);
	}
	if (!(timeoutSeconds > 0 && timeoutSeconds <= MAX_TIMEOUT_SECONDS)) {
		throw new Error(`task ${options.name}: timeoutSeconds must be in (0, ${MAX_TIMEOUT_SECONDS}]`);
	}
	return Object.freeze({ ...options, retry: Object.freeze(retry), timeoutSeconds });
}

/** Thrown by a task: fail now, never retry (Celery's Reject). */
export class PermanentError extends Error {
	override readonly name = "PermanentError";
}

/** Thrown by a task: retry after this many seconds, within the retry limit (Celery's self.retry(countdown=...)). */
export class RetryLater extends Error {
	override readonly name = "RetryLater";
	constructor(
		message: string,
		readonly delaySeconds: number,
	) {
		super(message);
	}
}

/** Full-jitter exponential backoff for the given retry number (1 = first retry). */
export function backoffSeconds(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
	const ceiling = Math.min(policy.maxDelaySeconds, policy.baseDelaySeconds * 2 ** (retry - 1));
	return Math.round(random() * ceiling);
}

/** Validates input against the task's schema: the check .delay() and .apply() share. */
export function parseInput<S extends z.ZodType>(task: TaskDefinition<S>, input: unknown): Json {
	const parsed = task.input.safeParse(input);
	if (!parsed.success) {
		throw new AppError(400, "validation_error", `Invalid input for task ${task.name}`, parsed.error.issues);
	}
	return parsed.data as Json;
}
