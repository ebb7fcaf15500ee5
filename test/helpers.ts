// Shared test plumbing. Requests go through the Worker's own fetch handler with
// the test env, so spies on env bindings see the Worker's calls.
import { createExecutionContext, createMessageBatch, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import { createContext } from "../src/context";
import { users } from "../src/db/schema";
import worker from "../src/index";
import type { Json } from "../src/tasks/define";
import type { Envelope } from "../src/tasks/envelope";
import { claimMany, getTask, insertPending, type Outcome, recordOutcomes } from "../src/tasks/store";

export const BASE = "https://edge-tasks.test";

/** Tokens configured for the tests in test/vitest.config.ts. */
export const TOKENS = {
	main: "test-token-0123456789abcdef",
	rotated: "rotated-token-0123456789abcdef",
	rateLimited: "rate-limit-token-0123456789abcdef",
} as const;

/** A request to the Worker, authenticated with the main test token unless headers say otherwise. */
export async function call(path: string, init: RequestInit = {}, workerEnv: Env = env): Promise<Response> {
	const headers = new Headers(init.headers);
	if (!headers.has("Authorization")) headers.set("Authorization", `Bearer ${TOKENS.main}`);
	if (headers.get("Authorization") === "") headers.delete("Authorization");
	const ctx = createExecutionContext();
	const res = await worker.fetch(new Request(`${BASE}${path}`, { ...init, headers }), workerEnv, ctx);
	await waitOnExecutionContext(ctx);
	return res;
}

export function postJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
	return call(path, {
		method: "POST",
		headers: { "content-type": "application/json", ...headers },
		body: typeof body === "string" ? body : JSON.stringify(body),
	});
}

export const testContext = () => createContext(env, { test: true });

/** Row counts of every table the API writes. */
export async function rowCounts(): Promise<{ tasks: number; users: number }> {
	const row = await env.DB.prepare("SELECT (SELECT count(*) FROM tasks) AS tasks, (SELECT count(*) FROM users) AS users").first<{
		tasks: number;
		users: number;
	}>();
	if (!row) throw new Error("count query returned nothing");
	return row;
}

export async function createUser(email = `${crypto.randomUUID()}@example.com`, name: string | null = "Test User") {
	const [row] = await testContext().db.insert(users).values({ email, name }).returning();
	if (!row) throw new Error("insert returned nothing");
	return row;
}

/** Waits for the real queue consumer to bring a task to a final state. */
export async function waitForFinal(id: string, timeout = 5000) {
	const db = testContext().db;
	return vi.waitUntil(
		async () => {
			const row = await getTask(db, id);
			return row && ["SUCCESS", "FAILURE", "REVOKED"].includes(row.status) ? row : undefined;
		},
		{ timeout, interval: 20 },
	);
}

/** The raw MIME of a message handed to the send_email binding. Locally,
 * Miniflare's EmailMessage keeps it under this key. */
export function rawMime(message: unknown): string {
	const raw = (message as Record<string, unknown>)["EmailMessage::raw"];
	if (typeof raw !== "string") throw new Error("EmailMessage carries no raw MIME string");
	return raw;
}

/** Hands bodies to the Worker's queue() handler as one batch, as the platform would. */
export async function deliver(bodies: unknown[], options: { queue?: string; attempts?: number; env?: Env } = {}) {
	const batch = createMessageBatch(
		options.queue ?? "edge-tasks-dev",
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
	await worker.queue(batch, options.env ?? env);
	const result = await getQueueResult(batch, ctx);
	const retried = batch.messages.flatMap((message, i) => {
		const call = retrySpies[i]?.mock.calls[0];
		return call ? [{ id: message.id, delaySeconds: call[0]?.delaySeconds }] : [];
	});
	return { batch, result, retried };
}

/** Records a PENDING task, as enqueue does, and returns its envelope. */
export async function recorded(name: string, input: Json): Promise<Envelope> {
	const id = crypto.randomUUID();
	await insertPending(testContext().db, { id, name, payload: input });
	return { id, name, input };
}

/** Claims one recorded task as a consumer would; returns the attempt, or undefined if not claimed. */
export async function claimTask(envelope: Envelope, leaseSeconds: number, now = new Date()): Promise<number | undefined> {
	const { id, name, input } = envelope;
	const claims = await claimMany(testContext().db, [{ id, name, payload: input as Json, enqueuedAt: now, leaseSeconds }], now);
	return claims.claimed.get(id);
}

/** Records one run's outcome as a consumer would; true if it was recorded. */
export async function finishTask(outcome: Outcome): Promise<boolean> {
	return (await recordOutcomes(testContext().db, [outcome], new Date())).has(outcome.id);
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
