// createEngine: the one object the Worker needs from the engine. The app hands
// in its tasks, its schedules, where the engine's bindings are in its env, and
// its context factory (the seed's ContextTask); the engine adds its built-in
// maintenance tasks and answers fetch's, queue()'s and scheduled()'s needs.
import type * as z from "zod";
import { builtins, DEFAULT_MAINTENANCE_CRONS, expireResults, recoverStuckTasks, releaseDueTasks } from "./builtins";
import { type EngineVars, parseEngineConfig } from "./config";
import { consumeBatch } from "./consumer";
import { createEngineDb } from "./db";
import type { TaskDefinition, TaskRef } from "./define";
import { applyTask } from "./eager";
import { ConfigError, isStorageFailure, StorageUnavailableError } from "./errors";
import type { Scope } from "./execute";
import type { FlowControl } from "./flow/control";
import { canonicalId, taskIds } from "./ids";
import { createLogger, type LogFields, type Logger } from "./log";
import { readTask, retryTask, revokeTask, waitForTask } from "./manage";
import { oncePer } from "./once-per";
import { createProducer, type Enqueued, type Prepared, type PrepareOptions, type Producer } from "./producer";
import { createRegistry } from "./registry";
import { releaseSoon } from "./release";
import type { Runtime } from "./runtime";
import { runSchedule, type ScheduleEntry, schedule } from "./scheduler";
import type { TaskRow } from "./schema";
import type { TaskState } from "./states";
import { listTasks, type TaskFilter, type TaskPage } from "./store/list";
import { countsSince } from "./store/maintenance";
import { loadOverview, type Overview, type Range } from "./store/stats";
import { dispatchSoon } from "./webhooks/dispatch";
import {
	type EnqueuedWorkflow,
	enqueueWorkflow,
	readWorkflow,
	revokeWorkflow,
	type WorkflowBody,
	type WorkflowOptions,
	type WorkflowSpec,
} from "./workflows";

/** Where the engine finds its bindings and settings in the app's env. */
export interface EngineBindings {
	/** The D1 database that holds the engine's tables (migrations/ creates them). */
	db: D1Database;
	/** The task queue's producer binding; the same Worker consumes it. */
	queue: Queue;
	/**
	 * The FlowControl Durable Object's namespace (export FlowControl from the
	 * Worker's entry): required once a task sets rateLimit or debounce
	 * (concurrencyLimit is kept in D1 and needs no binding).
	 */
	flow?: DurableObjectNamespace<FlowControl> | undefined;
	/** The vars the engine reads its settings from (see config.ts); usually env itself. */
	vars: EngineVars;
	/** Fields on every log line the engine writes, e.g. the app's environment. */
	logFields?: LogFields;
}

/** The task API an app (its routes, its tasks, its dashboard) calls: ctx.tasks. */
export interface TaskClient extends Pick<Producer, "enqueue" | "enqueueMany" | "enqueueEach" | "backlog"> {
	/**
	 * The transactional outbox: statements that record the task, for the app's
	 * own db.batch([...]) beside its writes, and send() for after it commits.
	 */
	prepare<S extends z.ZodType>(task: TaskRef<S>, input: z.input<S>, options?: PrepareOptions): Promise<Prepared>;
	/** A chain, a group, or a chord (a group with `then`): recorded in one transaction. */
	enqueueWorkflow(spec: WorkflowSpec, options?: WorkflowOptions): Promise<EnqueuedWorkflow>;
	/** The workflow, its status and its steps: WorkflowNotFoundError if unknown. */
	workflow(id: string): Promise<WorkflowBody>;
	/** Revokes every step that has not started. */
	revokeWorkflow(id: string): Promise<WorkflowBody>;
	/** The task's record; PENDING with name "" for a task still on the queue; undefined if unknown. */
	get(id: string): Promise<TaskRow | undefined>;
	/** The task once it is final, or as it is after `timeoutSeconds` (at most one D1 read per 250 ms meanwhile). */
	wait(id: string, options: { timeoutSeconds: number }): Promise<TaskRow | undefined>;
	/** Tasks newest first, one page at a time (keyset cursor). */
	list(filter: TaskFilter): Promise<TaskPage>;
	/** PENDING or RETRY becomes REVOKED: TaskNotFoundError, IllegalTransitionError otherwise. */
	revoke(id: string): Promise<TaskRow>;
	/** A FAILURE or REVOKED task's input, enqueued again as a new task (replayed: a repeat within the key TTL). */
	retry(id: string): Promise<Enqueued>;
	/** The dashboard's aggregates (counts per state and name, throughput, oldest due task). */
	overview(range: Range, now?: Date): Promise<Overview>;
	/** Tasks created since `since`, counted by name and state. */
	countsSince(since: Date): Promise<{ name: string; status: TaskState; n: number }[]>;
	/** Eager mode: runs the task now, in this invocation, and returns its finished record. */
	apply<S extends z.ZodType>(task: TaskRef<S>, input: z.input<S>): Promise<TaskRow>;
	/** Every registered task name, built-ins included. */
	readonly names: readonly string[];
}

export interface EngineOptions<E, Ctx> {
	/** The app's tasks (a list like Celery's autodiscovered tasks.py). */
	tasks: readonly TaskDefinition<Ctx>[];
	/** The app's periodic tasks; every cron must be a trigger in wrangler.toml. */
	schedules?: readonly ScheduleEntry[];
	/** Crons for the built-in maintenance tasks, if not the defaults (DEFAULT_MAINTENANCE_CRONS). */
	maintenance?: Partial<Record<keyof typeof DEFAULT_MAINTENANCE_CRONS, string>>;
	bindings(env: E): EngineBindings;
	/** The app's context factory: what a request handler or an app task receives. */
	context(env: E, engine: { tasks: TaskClient; log: Logger }): Ctx;
}

export interface Engine<E, Ctx> {
	/** The app's context for one request or script, with ctx.tasks bound to env. */
	context(env: E, logFields?: LogFields): Ctx;
	/** The Worker's queue() handler. */
	consume(batch: MessageBatch<unknown>, env: E): Promise<void>;
	/** The Worker's scheduled() handler. */
	scheduled(controller: ScheduledController, env: E): Promise<void>;
	/** Every schedule entry, the built-ins' included: each cron must be a trigger in wrangler.toml. */
	readonly schedules: readonly ScheduleEntry[];
	/** Every registered task name, built-ins included. */
	readonly names: readonly string[];
}

/**
 * The registry, the schedules and a builder of per-env scopes: what
 * createEngine wraps. Exported for the engine's own tests, which run batches
 * through executeBatch with stand-in tasks.
 */
export function createScopes<E extends object, Ctx>(options: EngineOptions<E, Ctx>) {
	const registry = createRegistry(options.tasks, builtins);
	const names = [...registry.keys()];
	const nameSet: ReadonlySet<string> = new Set(names);
	const crons = { ...DEFAULT_MAINTENANCE_CRONS, ...options.maintenance };
	const schedules: readonly ScheduleEntry[] = [
		schedule({ name: "release-due-tasks", cron: crons.releaseDueTasks, task: releaseDueTasks, input: {} }),
		schedule({ name: "recover-stuck-tasks", cron: crons.recoverStuckTasks, task: recoverStuckTasks, input: {} }),
		schedule({ name: "expire-results", cron: crons.expireResults, task: expireResults, input: {} }),
		...(options.schedules ?? []),
	];

	// env and its bindings are the same objects for the isolate's lifetime;
	// the config parse and drizzle's schema walk need doing once, not per request.
	const dbOf = oncePer((d1: D1Database) => createEngineDb(d1));
	const flowTasks = options.tasks.filter((t) => t.rateLimit || t.debounce).map((t) => t.name);
	const bindingsOf = oncePer((env: E) => {
		const b = options.bindings(env);
		if (flowTasks.length > 0 && !b.flow) {
			throw new ConfigError([
				{ variable: "flow", message: `tasks ${flowTasks.join(", ")} set flow limits: bind the FlowControl Durable Object` },
			]);
		}
		const config = parseEngineConfig(b.vars);
		return { ...b, config, db: dbOf(b.db), ids: taskIds(config.taskIdSecret) };
	});

	const scopeOf = (env: E, logFields: LogFields = {}): Scope<Ctx> => {
		const b = bindingsOf(env);
		const log = createLogger({ ...b.logFields, ...logFields }, b.config.logLevel);
		const producer = createProducer({
			db: b.db,
			queue: b.queue,
			log,
			idempotencyTtlSeconds: b.config.idempotencyTtlSeconds,
			names: nameSet,
			ids: b.ids,
			webhookHosts: b.config.webhookHosts,
			flow: b.flow,
			revoked: (ids) => dispatchSoon(rt, ids),
		});
		const rt: Runtime = {
			db: b.db,
			config: b.config,
			log,
			producer,
			ids: b.ids,
			flow: b.flow,
			taskOf: (name) => registry.get(name)?.task,
		};
		const client: TaskClient = storageGuarded({
			enqueue: producer.enqueue,
			enqueueMany: producer.enqueueMany,
			enqueueEach: producer.enqueueEach,
			backlog: producer.backlog,
			get: (id) => readTask(rt, canonicalId(id)),
			wait: (id, { timeoutSeconds }) => waitForTask(rt, canonicalId(id), timeoutSeconds),
			list: (filter) => listTasks(rt.db, filter),
			revoke: (id) => revokeTask(rt, canonicalId(id)),
			retry: (id) => retryTask(rt, canonicalId(id)),
			overview: (range, now = new Date()) => loadOverview(rt.db, now, range, names),
			countsSince: (since) => countsSince(rt.db, since),
			apply: (task, input) => applyTask(scope, task, input),
			prepare: async (task, input, prepareOptions) => {
				const prepared = await producer.prepare(task, input, prepareOptions);
				return { ...prepared, send: () => releaseSoon(rt, { ids: [prepared.id] }) };
			},
			enqueueWorkflow: (spec, workflowOptions) => enqueueWorkflow(rt, spec, workflowOptions),
			workflow: (id) => readWorkflow(rt, canonicalId(id)),
			revokeWorkflow: (id) => revokeWorkflow(rt, canonicalId(id)),
			names,
		});
		const scope: Scope<Ctx> = { rt, registry, ctx: options.context(env, { tasks: client, log }) };
		return scope;
	};
	return { registry, names, schedules, scopeOf };
}

/**
 * The client with D1's own failures turned into StorageUnavailableError, so
 * a caller can tell "try again later" from a bug.
 */
function storageGuarded(client: TaskClient): TaskClient {
	const guarded: Record<string, unknown> = { ...client };
	for (const [name, value] of Object.entries(client)) {
		if (typeof value !== "function") continue;
		guarded[name] = async (...args: unknown[]) => {
			try {
				return await value(...args);
			} catch (err) {
				throw isStorageFailure(err) ? new StorageUnavailableError(err) : err;
			}
		};
	}
	return guarded as unknown as TaskClient;
}

export function createEngine<E extends object, Ctx>(options: EngineOptions<E, Ctx>): Engine<E, Ctx> {
	const { names, schedules, scopeOf } = createScopes(options);
	return {
		context: (env, logFields = {}) => scopeOf(env, logFields).ctx,
		consume: (batch, env) => consumeBatch(batch, scopeOf(env, { queue: batch.queue })),
		scheduled: (controller, env) => runSchedule(scopeOf(env, { cron: controller.cron }).rt, schedules, controller),
		schedules,
		names,
	};
}
