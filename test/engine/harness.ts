// A stand-in app for the engine's tests: tasks and a context of their own,
// nothing of edge-tasks' app. The engine runs against the real D1 and a real
// queue that nothing consumes (ENGINE_TEST_QUEUE), and batches reach it by
// hand, as the platform would hand them to queue().
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { vi } from "vitest";
import * as z from "zod";
import { consumeBatch } from "../../src/engine/consumer";
import { createEngineDb } from "../../src/engine/db";
import { attemptsAllowed, DEFAULT_RETRY, defineTask, type Json, type TaskDefinition } from "../../src/engine/define";
import { createScopes, type EngineOptions, type TaskClient } from "../../src/engine/engine";
import type { Envelope } from "../../src/engine/envelope";
import { type Delivered, executeBatch } from "../../src/engine/execute";
import type { Logger } from "../../src/engine/log";
import { type TaskRow, tasks } from "../../src/engine/schema";
import { claimMany, insertPending, type Outcome, recordOutcomes } from "../../src/engine/store/tasks";

/** What the stand-in tasks receive: the engine's client and logger, and a record of what they did. */
export interface StandInContext {
	tasks: TaskClient;
	log: Logger;
	/** Each run appends what it did, in order: the "side effects" tests count. */
	effects: string[];
}

/** One shared record per test file: runs append to it, tests read it. */
export const effects: string[] = [];

/** An engine with the given stand-in tasks (the built-ins come with it), on the test queue. */
export function standInEngine(
	list: readonly TaskDefinition<StandInContext>[],
	options: Partial<Pick<EngineOptions<Cloudflare.Env, StandInContext>, "schedules" | "maintenance">> = {},
) {
	const scopes = createScopes<Cloudflare.Env, StandInContext>({
		tasks: list,
		...options,
		bindings: (e) => ({ db: e.DB, queue: e.ENGINE_TEST_QUEUE, flow: e.FLOW, vars: e }),
		context: (_env, { tasks, log }) => ({ tasks, log, effects }),
	});
	const scope = () => scopes.scopeOf(env, { test: true });
	return {
		...scopes,
		scope,
		client: () => scope().ctx.tasks,
		/** Decides deliveries as the consumer would; one decision each, in order. */
		execute: (deliveries: Delivered[]) => executeBatch(scope(), deliveries),
		/** Hands bodies to the consumer as one batch; reports acks and retries with their delays. */
		deliver: (bodies: unknown[], opts: { queue?: string; attempts?: number } = {}) =>
			deliverBatch((batch) => consumeBatch(batch, scope()), opts.queue ?? "edge-tasks-engine-test", bodies, opts),
	};
}

/** The engine's own drizzle client, for tests that set up or inspect its tables directly. */
export const engineDb = () => createEngineDb(env.DB);

/** A task's row as stored, or undefined. */
export function row(id: string): Promise<TaskRow | undefined> {
	return engineDb().select().from(tasks).where(eq(tasks.id, id)).get();
}

/** Records a PENDING task, as enqueue does, and returns its envelope. */
export async function recorded(name: string, input: Json): Promise<Envelope> {
	const id = crypto.randomUUID();
	await insertPending(engineDb(), { id, name, payload: input });
	return { id, name, input };
}

/** Claims one recorded task as a consumer would (a task with the default retries); returns the attempt, or undefined if not claimed. */
export async function claimTask(envelope: Envelope, leaseSeconds: number, now = new Date()): Promise<number | undefined> {
	const { id, name, input } = envelope;
	const maxAttempts = attemptsAllowed(DEFAULT_RETRY);
	const claims = await claimMany(
		engineDb(),
		[{ id, name, payload: input as Json, enqueuedAt: now, leaseSeconds, maxAttempts }],
		now,
	);
	return claims.claimed.get(id);
}

/** Records one run's outcome as a consumer would; true if it was recorded. */
export async function finishTask(outcome: Outcome): Promise<boolean> {
	return (await recordOutcomes(engineDb(), [outcome], new Date())).has(outcome.id);
}

/** Makes D1 statements matching `when` fail, as a D1 outage would; everything else reaches the real D1. */
export function failD1When(when: (sql: string, params: unknown[]) => boolean, message = "D1_ERROR: Network connection lost.") {
	const prepare = env.DB.prepare.bind(env.DB);
	return vi.spyOn(env.DB, "prepare").mockImplementation((sql: string) => {
		const statement = prepare(sql);
		const bind = statement.bind.bind(statement);
		statement.bind = (...params: unknown[]) => {
			if (when(sql, params)) throw new Error(message);
			return bind(...params);
		};
		return statement;
	});
}

/** Hands bodies to `consume` as one batch from `queue`, as the platform would; reports acks and retries with their delays. */
export async function deliverBatch(
	consume: (batch: MessageBatch<unknown>) => Promise<void>,
	queue: string,
	bodies: unknown[],
	options: { attempts?: number } = {},
) {
	const batch = createMessageBatch(
		queue,
		bodies.map((body, i) => ({
			id: `msg-${i}-${crypto.randomUUID()}`,
			timestamp: new Date(),
			attempts: options.attempts ?? 1,
			body,
		})),
	);
	// getQueueResult() does not report retry options, so watch retry() itself.
	const retrySpies = batch.messages.map((message) => vi.spyOn(message, "retry"));
	const ctx = createExecutionContext();
	await consume(batch);
	const result = await getQueueResult(batch, ctx);
	const retried = batch.messages.flatMap((message, i) => {
		const call = retrySpies[i]?.mock.calls[0];
		return call ? [{ id: message.id, delaySeconds: call[0]?.delaySeconds }] : [];
	});
	return { batch, result, retried };
}

/** A table of the stand-in app's own, for transactional tasks: a ledger whose amounts must be positive. */
export async function createLedger(): Promise<void> {
	await env.DB.prepare(
		"CREATE TABLE IF NOT EXISTS ledger (task_id TEXT NOT NULL, account TEXT NOT NULL, cents INTEGER NOT NULL CHECK (cents > 0))",
	).run();
}

/**
 * A transactional stand-in task: books an amount, one ledger row per run (work
 * that must not be done twice), and answers with the account's balance. `db`
 * names the binding its work is written for: the engine's own by default.
 */
export function bookTask(name = "book", db: () => { $client: D1Database } = engineDb) {
	return defineTask({
		name,
		input: z.object({ account: z.string(), cents: z.number().int() }),
		concurrencyLimit: { limit: 1, key: (input) => input.account },
		transaction: {
			db,
			work: (_ctx: StandInContext, runs) => [
				sql`INSERT INTO ledger (task_id, account, cents)
					SELECT id, ${runs.field("account")}, ${runs.field("cents")} FROM tasks WHERE ${runs.rows}`,
			],
			result: (run) =>
				sql<Json>`json_object('account', ${run.field("account")},
					'balance', (SELECT sum(cents) FROM ledger WHERE account = ${run.field("account")}))`,
		},
	});
}

/** The ledger's rows for these tasks. */
export async function booked(taskIds: readonly string[]) {
	const { results } = await env.DB.prepare(
		"SELECT task_id, account, cents FROM ledger WHERE task_id IN (SELECT value FROM json_each(?))",
	)
		.bind(JSON.stringify(taskIds))
		.all<{ task_id: string; account: string; cents: number }>();
	return results;
}
