// What the bench scripts share to drive a host: one autocannon load in a
// process of its own (bench/load.ts), the email the email loads post, and the
// counts the host's D1 answers over HTTP. Types only from host.ts: the load
// processes (bench/post.ts) import this without loading wrangler and Miniflare.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import type autocannon from "autocannon";
import type { Host } from "./host.ts";
import type { LoadOptions } from "./load.ts";

const run = promisify(execFile);

/** Connections every load keeps open, as the Flask + Celery reference's wrk does. */
export const CONNECTIONS = 32;

/** The body of every POST /send-email a load sends. */
export const EMAIL = JSON.stringify({ email: "ada@example.com", subject: "Bench", body: "Hello from the benchmark." });

/**
 * The body of every POST /process-user/<id> a load sends, as JSON: the Flask
 * + Celery reference's wrk script sends this one, so both sides parse a body.
 */
export const PROCESS_USER = "{}";

/** What a load posts to an enqueue route (ours, the engine's or the floor's), sent as JSON; nothing to any other. */
export const bodyOf = (route: string): string | undefined =>
	route.endsWith("/send-email") ? EMAIL : route.endsWith("/process-user/{id}") ? PROCESS_USER : undefined;

// Every call to the host has a deadline: a benchmark that stops answering
// fails with a message instead of hanging.
export const ANSWER_MS = 10_000;

/** One load with autocannon in its own process, so the load generator does not compete with Miniflare's event loop. */
export async function runLoad(options: LoadOptions): Promise<autocannon.Result> {
	const { stdout } = await run(process.execPath, [path.join(import.meta.dirname, "load.ts"), JSON.stringify(options)], {
		maxBuffer: 64 * 1024 * 1024,
	});
	return JSON.parse(stdout) as autocannon.Result;
}

/**
 * A count from the host's D1, asked over HTTP (see bench/worker/entry.ts for
 * why not the D1 proxy), and for the SUCCESS ones when the last finished.
 */
export async function tally(
	host: Host,
	route: "/__bench/finished" | "/__bench/succeeded",
	ids?: string[],
): Promise<{ n: number; last?: number | null }> {
	const res = await fetch(new URL(route, host.url), {
		method: ids ? "POST" : "GET",
		...(ids ? { body: JSON.stringify(ids) } : {}),
		signal: AbortSignal.timeout(ANSWER_MS),
	});
	if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
	return (await res.json()) as { n: number; last?: number | null };
}

export const count = async (...args: Parameters<typeof tally>) => (await tally(...args)).n;
