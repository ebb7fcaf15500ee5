// Shared test plumbing. Requests go through the Worker's own fetch handler with
// the test env, so spies on env bindings see the Worker's calls.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { vi } from "vitest";
import { tasks, users } from "../../src/db/schema";
import type { TaskRow } from "../../src/engine";
import { createScopes } from "../../src/engine/engine";
import worker, { engine, engineOptions } from "../../src/index";

import { deliverBatch } from "../engine/harness";

export { claimTask, engineDb, failD1When, finishTask, recorded } from "../engine/harness";

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

/** The app's context, as a request handler or an app task gets it. */
export const testContext = () => engine.context(env, { test: true });

/** A task id as this deployment mints them (signed), for a task that has no row. */
export const mintTaskId = () => createScopes(engineOptions).scopeOf(env).rt.ids.mint();

/** A task's row as stored (undefined if there is none), read without the engine's placeholders. */
export async function taskRow(id: string): Promise<TaskRow | undefined> {
	return testContext().db.select().from(tasks).where(eq(tasks.id, id)).get();
}

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
	return vi.waitUntil(
		async () => {
			const row = await taskRow(id);
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
export function deliver(bodies: unknown[], options: { queue?: string; attempts?: number; env?: Env } = {}) {
	return deliverBatch((batch) => worker.queue(batch, options.env ?? env), options.queue ?? "edge-tasks-dev", bodies, options);
}

/** The messages a spied sendBatch handed to the queue for task `id`, in order. */
export function sentFor(spy: { mock: { calls: [Iterable<MessageSendRequest<unknown>>, ...unknown[]][] } }, id: string) {
	return spy.mock.calls.flatMap(([messages]) => [...messages]).filter((m) => (m.body as { id?: string }).id === id);
}
