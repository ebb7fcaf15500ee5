// defineTask: the analog of Celery's @app.task. A task is a name, a zod schema
// for its input (the producer validates with it, the consumer parses with it),
// a retry policy, and a run function that receives the batch's context. The
// context is the app's: a task is generic over its type, Ctx, and the engine
// hands each run whatever the app's context factory built for the batch.
import type * as z from "zod";
import { InvalidInputError } from "./errors";
import type { Json } from "./json";
import { MAX_CONSUMER_WALL_SECONDS, MAX_DELAY_SECONDS, MAX_OPEN_CONNECTIONS } from "./limits";
import { mapSettled } from "./settle";
import { runTransaction, type Transaction } from "./transaction";

export type { Json } from "./json";
export { mapSettled } from "./settle";

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

/** How many runs a task may have in all: its first and its retries. */
export const attemptsAllowed = (policy: RetryPolicy) => policy.maxRetries + 1;

/**
 * At most `limit` runs start in any `periodSeconds`, counted across every
 * consumer (one Durable Object per limit keeps every key's window): per key when `key` is
 * given, for the whole task otherwise. A run over the limit waits, its
 * message delayed until its place in a later window; it uses up no retry.
 */
export interface RateLimit<Ctx = never, I = unknown> {
	/** A number, or read from the batch's context (a configured value). */
	limit: number | ((ctx: Ctx) => number);
	periodSeconds: number;
	key?(input: I): string;
}

/** At most `limit` runs with the same key at once, across every consumer; a run's slot is its lease. */
export interface ConcurrencyLimit<I = unknown> {
	limit: number;
	key?(input: I): string;
}

/**
 * Enqueues with the same key within `seconds` of each other collapse into one
 * run of the latest input, `seconds` after the last enqueue; the tasks it
 * replaced end REVOKED, naming it.
 */
export interface Debounce<I = unknown> {
	seconds: number;
	key?(input: I): string;
}

/** The flow-control options a task may set (see docs/flow-control.md). */
export interface FlowOptions<Ctx, I> {
	rateLimit?: RateLimit<Ctx, I>;
	concurrencyLimit?: ConcurrencyLimit<I>;
	debounce?: Debounce<I>;
}

/** What the producer needs of a task: its name and its input's schema. */
export interface TaskRef<S extends z.ZodType = z.ZodType> {
	readonly name: string;
	readonly input: S;
	/** Set on a debounced task: the producer collapses its enqueues. */
	readonly debounce?: Debounce<z.output<S>> | undefined;
}

/** One task of a batch handed to runBatch. */
export interface BatchItem<I> {
	input: I;
	task: TaskInfo;
}

/** Per item of a batch, in order: its result, or the error it failed with. */
export type BatchResults<R extends Json> = PromiseSettledResult<R>[];

export interface TaskDefinition<
	Ctx = unknown,
	S extends z.ZodType = z.ZodType,
	R extends Json = Json,
	N extends string = string,
> {
	/** Its name, as a literal type: callers by name (RPC, the typed client) are checked against it. */
	readonly name: N;
	readonly input: S;
	readonly retry: RetryPolicy;
	/**
	 * How long one run may take. The claiming delivery holds the task this long
	 * (its lease); past it the run counts as failed and another delivery may
	 * claim the task.
	 */
	readonly timeoutSeconds: number;
	/** How many of a batch's tasks of this kind run at once (tasks written per item). */
	readonly concurrency: number;
	/** True when the task is written per batch (runBatch): one run covers the batch. */
	readonly perBatch: boolean;
	readonly rateLimit?: RateLimit<Ctx, z.output<S>> | undefined;
	readonly concurrencyLimit?: ConcurrencyLimit<z.output<S>> | undefined;
	readonly debounce?: Debounce<z.output<S>> | undefined;
	/** Set on a transactional task: its work, done in its claim's D1 transaction (transaction.ts). */
	readonly transaction?: Transaction<Ctx, z.output<S>, R> | undefined;
	run(ctx: Ctx, input: z.output<S>, task: TaskInfo): Promise<R>;
	/** All of a batch's tasks of this kind at once (by default, run() for each, `concurrency` at a time). */
	runBatch(ctx: Ctx, items: readonly BatchItem<z.output<S>>[]): Promise<BatchResults<R>>;
}

interface CommonOptions<Ctx, S extends z.ZodType, N extends string> extends FlowOptions<Ctx, z.output<S>> {
	name: N;
	input: S;
	retry?: Partial<RetryPolicy>;
	timeoutSeconds?: number;
	/** How many of one batch's runs of this task run at once, in that invocation (not a global limit: see concurrencyLimit). */
	concurrency?: number;
}

/**
 * A task is written per item (run) or per batch (runBatch), for work that one
 * statement can do for a whole batch; the other is derived. A task whose whole
 * work is D1 statements may declare them instead (transaction): the consumer
 * commits them with the claim and the outcome, in one transaction.
 */
export type TaskOptions<Ctx, S extends z.ZodType, R extends Json, N extends string = string> = CommonOptions<Ctx, S, N> &
	(
		| { run(ctx: Ctx, input: z.output<S>, task: TaskInfo): Promise<R>; runBatch?: never; transaction?: never }
		| { runBatch(ctx: Ctx, items: readonly BatchItem<z.output<S>>[]): Promise<BatchResults<R>>; run?: never; transaction?: never }
		| { transaction: Transaction<Ctx, z.output<S>, R>; run?: never; runBatch?: never }
	);

// A lease longer than a consumer's wall time would outlive any consumer that
// could hold it.
const MAX_TIMEOUT_SECONDS = MAX_CONSUMER_WALL_SECONDS;
// More at once would only wait for a connection inside the runtime.
const DEFAULT_CONCURRENCY = MAX_OPEN_CONNECTIONS;

/**
 * Defines a task whose run receives a `Ctx`. The app usually fixes Ctx once
 * with taskDefiner<AppContext>() and defines every task with what that returns.
 */
export function defineTask<Ctx, S extends z.ZodType, R extends Json, N extends string>(
	options: TaskOptions<Ctx, S, R, N>,
): TaskDefinition<Ctx, S, R, N> {
	const retry = { ...DEFAULT_RETRY, ...options.retry };
	const timeoutSeconds = options.timeoutSeconds ?? 300;
	const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
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
	if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
		throw new Error(`task ${options.name}: concurrency must be a positive integer`);
	}
	checkFlow(options);
	const { run, transaction, rateLimit, concurrencyLimit, debounce } = options;
	// A transactional task run outside the claim's batch (after that batch
	// failed, or written for another binding) does its work in a transaction of
	// its own.
	const runBatch: TaskOptions<Ctx, S, R, N>["runBatch"] =
		options.runBatch ??
		(transaction &&
			((ctx, items) =>
				runTransaction(
					transaction,
					ctx,
					items.map((item) => item.task.id),
				)));
	const common = {
		name: options.name,
		input: options.input,
		retry: Object.freeze(retry),
		timeoutSeconds,
		concurrency,
		rateLimit,
		concurrencyLimit,
		debounce,
	};
	if (runBatch) {
		return Object.freeze({
			...common,
			transaction,
			perBatch: true,
			runBatch,
			async run(ctx: Ctx, input: z.output<S>, task: TaskInfo) {
				const [settled] = await runBatch(ctx, [{ input, task }]);
				if (settled?.status !== "fulfilled") throw settled?.reason ?? new Error("runBatch returned no result");
				return settled.value;
			},
		});
	}
	// The options' union leaves one of the three set; here it is run.
	if (!run) throw new Error(`task ${options.name}: define run, runBatch or transaction`);
	return Object.freeze({
		...common,
		perBatch: false,
		run,
		runBatch: (ctx: Ctx, items: readonly BatchItem<z.output<S>>[]) =>
			mapSettled(items, concurrencyFor(common, items.length), (item) =>
				withTimeout(run(ctx, item.input, item.task), timeoutSeconds),
			),
	});
}

const positiveInt = (n: unknown, max = Number.MAX_SAFE_INTEGER) =>
	typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= max;

function checkFlow<Ctx, I>(options: FlowOptions<Ctx, I> & { name: string }): void {
	const { name, rateLimit, concurrencyLimit, debounce } = options;
	if (
		rateLimit &&
		!(positiveInt(rateLimit.periodSeconds, 86_400) && (typeof rateLimit.limit === "function" || positiveInt(rateLimit.limit)))
	) {
		throw new Error(`task ${name}: rateLimit needs a positive integer limit and periodSeconds from 1 to 86400`);
	}
	if (concurrencyLimit && !positiveInt(concurrencyLimit.limit)) {
		throw new Error(`task ${name}: concurrencyLimit.limit must be a positive integer`);
	}
	if (debounce && !positiveInt(debounce.seconds, MAX_DELAY_SECONDS)) {
		throw new Error(`task ${name}: debounce.seconds must be a whole number from 1 to ${MAX_DELAY_SECONDS}`);
	}
}

/**
 * How many of `n` tasks of one kind run at once: the task's concurrency,
 * raised where needed so that the waves of runs, each up to timeoutSeconds,
 * fit in one consumer invocation's wall time (100 emails with a 60 s timeout
 * would otherwise need 17 waves of 6: 1,020 s, past the 900 s a consumer may
 * run).
 */
export function concurrencyFor(task: { concurrency: number; timeoutSeconds: number }, n: number): number {
	const waves = Math.max(1, Math.floor(MAX_CONSUMER_WALL_SECONDS / task.timeoutSeconds));
	return Math.max(task.concurrency, Math.ceil(n / waves));
}

/** defineTask with the context type fixed: `export const defineTask = taskDefiner<AppContext>()`. */
export function taskDefiner<Ctx>() {
	return <S extends z.ZodType, R extends Json, N extends string>(
		options: TaskOptions<Ctx, S, R, N>,
	): TaskDefinition<Ctx, S, R, N> => defineTask<Ctx, S, R, N>(options);
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
export function parseInput(task: TaskRef, input: unknown): Json {
	const parsed = task.input.safeParse(input);
	if (!parsed.success) throw new InvalidInputError(`Invalid input for task ${task.name}`, parsed.error.issues);
	return parsed.data as Json;
}

export class TaskTimeoutError extends Error {
	override readonly name = "TaskTimeoutError";
}

/** Rejects with TaskTimeoutError if `work` takes longer than `seconds`. */
export function withTimeout<T>(work: Promise<T>, seconds: number): Promise<T> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new TaskTimeoutError(`task timed out after ${seconds} s`)), seconds * 1000);
	});
	return Promise.race([work, timeout]).finally(() => {
		if (timer !== undefined) clearTimeout(timer);
	});
}
