// npm run bench:scale: do reads and maintenance stay flat as the result
// backend grows? The Worker npm run bench runs, twice side by side, each on a
// fresh local D1: one seeded with 10,000 finished tasks, one with 1,000,000
// (bench/scale-seed.ts). Each read is timed by sequential requests that
// alternate between the two, so a change in this shared machine's load falls
// on both alike; each maintenance task is timed for one run on each. Prints
// every operation at both sizes with the ratio (the goal: within 2x) and
// writes bench/results/scale.json. BENCH_SCALES=10000,100000 picks the sizes.
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Host, ROOT, startHost, TOKEN } from "./host.ts";
import { SPAN_MS, seedStatements } from "./scale-seed.ts";

const ENTRY = "bench/worker/entry.ts";
const SCALES = (process.env.BENCH_SCALES ?? "10000,1000000").split(",").map(Number);
const WARMUP = 5;
const RUNS = 15;
const GOAL = 2;
const ANSWER_MS = 60_000;
const auth = { authorization: `Bearer ${TOKEN}` };

const step = (what: string) => console.error(`... ${what}`);

interface Sized {
	total: number;
	host: Host;
	seedSeconds: number;
	/** Per operation: its time in ms, and for a maintenance run what it did. */
	timed: Map<string, { ms: number; result?: Record<string, unknown> }>;
}

async function call(host: Host, route: string, init: RequestInit = {}): Promise<Response> {
	const res = await fetch(new URL(route, host.url), { signal: AbortSignal.timeout(ANSWER_MS), ...init });
	if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
	return res;
}

async function seeded(total: number): Promise<Sized> {
	step(`${total.toLocaleString("en")} finished tasks: starting the Worker and seeding`);
	const host = await startHost(ENTRY);
	const started = performance.now();
	for (const { sql, params } of seedStatements(total, Date.now())) {
		await host.db
			.prepare(sql)
			.bind(...params)
			.run();
	}
	const seedSeconds = Math.round((performance.now() - started) / 1000);
	step(`seeded in ${seedSeconds} s`);
	return { total, host, seedSeconds, timed: new Map() };
}

/** A dashboard session, signed in through the login form as a browser would. */
async function signIn(host: Host): Promise<string> {
	const res = await fetch(new URL("/dashboard/login", host.url), {
		method: "POST",
		redirect: "manual",
		headers: { "content-type": "application/x-www-form-urlencoded", origin: host.url.origin },
		body: new URLSearchParams({ token: TOKEN, next: "/dashboard" }).toString(),
		signal: AbortSignal.timeout(ANSWER_MS),
	});
	const cookie = res.headers.getSetCookie()[0]?.split(";")[0];
	if (res.status !== 303 || !cookie) throw new Error(`sign-in: ${res.status} ${await res.text()}`);
	return cookie;
}

/** The reads, as [operation, route, headers] on one host: a cursor halfway down and a task there come from the API itself. */
async function reads(host: Host): Promise<[string, string, Record<string, string>][]> {
	const middle = new Date(Date.now() - SPAN_MS / 2).toISOString();
	const half = (await (await call(host, `/tasks?limit=1&created_before=${middle}`, { headers: auth })).json()) as {
		tasks: { task_id: string }[];
		next_cursor: string;
	};
	const session = { cookie: await signIn(host) };
	return [
		["GET /tasks (first page)", "/tasks", auth],
		["GET /tasks?cursor= (halfway down)", `/tasks?cursor=${half.next_cursor}`, auth],
		["GET /tasks/:id", `/tasks/${half.tasks[0]?.task_id}`, auth],
		["GET /tasks?status=FAILURE", "/tasks?status=FAILURE", auth],
		["GET /dashboard (overview, 1h chart)", "/dashboard", session],
		["GET /dashboard?range=24h", "/dashboard?range=24h", session],
	];
}

/** Each read: the median of RUNS requests per size after WARMUP, alternating between sizes, each answer read to its end. */
async function timeReads(sizes: Sized[]) {
	const routes = await Promise.all(sizes.map((s) => reads(s.host)));
	for (const [i, [operation]] of (routes[0] ?? []).entries()) {
		step(operation);
		const times = sizes.map((): number[] => []);
		for (let run = 0; run < WARMUP + RUNS; run++) {
			for (const [k, size] of sizes.entries()) {
				const [, route, headers] = routes[k]?.[i] ?? [];
				const started = performance.now();
				await (await call(size.host, route ?? "", { headers })).arrayBuffer();
				if (run >= WARMUP) times[k]?.push(performance.now() - started);
			}
		}
		for (const [k, size] of sizes.entries()) {
			const sorted = (times[k] ?? []).sort((a, b) => a - b);
			size.timed.set(operation, { ms: Number((sorted[Math.floor(RUNS / 2)] ?? 0).toFixed(2)) });
		}
	}
}

/** Waits until the host's finished-task count stops moving: recovery's redelivered tasks have run. */
async function settle(host: Host) {
	let last = -1;
	for (;;) {
		const { n } = (await (await call(host, "/__bench/finished")).json()) as { n: number };
		if (n === last) return;
		last = n;
		await new Promise((r) => setTimeout(r, 1000));
	}
}

/**
 * Each maintenance task once per size, after a run of its own on one row has
 * warmed its code. Recovery last: the tasks it redelivers run afterwards, and
 * the next size waits for them.
 */
async function timeMaintenance(sizes: Sized[]) {
	for (const [operation, route, warmup] of [
		["expire_results, one run", "/__bench/expire-results", { chunk_size: 1, max_chunks: 1 }],
		["recover_stuck_tasks, one run", "/__bench/recover-stuck-tasks", { limit: 1 }],
	] as const) {
		step(operation);
		for (const size of sizes) {
			await call(size.host, route, { method: "POST", body: JSON.stringify(warmup) });
			const started = performance.now();
			const result = (await (await call(size.host, route, { method: "POST" })).json()) as Record<string, unknown>;
			const ms = Number((performance.now() - started).toFixed(2));
			// Recovery's ids, counted rather than listed.
			const counted = Object.fromEntries(Object.entries(result).map(([k, v]) => [k, Array.isArray(v) ? v.length : v]));
			size.timed.set(operation, { ms, result: counted });
			if (route === "/__bench/recover-stuck-tasks") await settle(size.host);
		}
	}
}

const sizes: Sized[] = [];
try {
	for (const total of SCALES) sizes.push(await seeded(total));
	await timeReads(sizes);
	await timeMaintenance(sizes);
} finally {
	await Promise.all(sizes.map((s) => s.host.dispose()));
}

const [small, large] = [sizes[0], sizes.at(-1)];
if (!small || !large) throw new Error("BENCH_SCALES names no size");
const label = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`);
const rows = [...small.timed].map(([operation, s]) => {
	const l = large.timed.get(operation);
	const ratio = Number(((l?.ms ?? Number.NaN) / s.ms).toFixed(2));
	return { operation, small: s, large: l, ratio, met: ratio <= GOAL };
});

console.log(`\n| Operation | ${label(small.total)} ms | ${label(large.total)} ms | ratio | <= ${GOAL}x |`);
console.log("|---|---|---|---|---|");
for (const r of rows)
	console.log(`| ${r.operation} | ${r.small.ms} | ${r.large?.ms} | ${r.ratio.toFixed(2)} | ${r.met ? "met" : "**missed**"} |`);
for (const r of rows.filter((r) => r.small.result))
	console.log(
		`${r.operation}: ${JSON.stringify(r.small.result)} at ${label(small.total)}, ${JSON.stringify(r.large?.result)} at ${label(large.total)}`,
	);

const report = {
	date: new Date().toISOString(),
	machine: {
		cores: os.cpus().length,
		cpu: os.cpus()[0]?.model,
		node: process.version,
		loadAverage: Number(os.loadavg()[0]?.toFixed(2)),
	},
	method: `reads: median of ${RUNS} sequential requests per size after ${WARMUP}, alternating between sizes; maintenance: one run each`,
	scales: sizes.map(({ total, seedSeconds }) => ({ total, seedSeconds })),
	operations: rows.map((r) => ({
		operation: r.operation,
		ms: Object.fromEntries(sizes.map((s) => [s.total, s.timed.get(r.operation)?.ms])),
		ratio: r.ratio,
		withinGoal: r.met,
		...(r.small.result ? { result: Object.fromEntries(sizes.map((s) => [s.total, s.timed.get(r.operation)?.result])) } : {}),
	})),
};
writeFileSync(path.join(ROOT, "bench/results/scale.json"), `${JSON.stringify(report, null, "\t")}\n`);
console.log("\nWritten to bench/results/scale.json");
