// npm run bench: throughput, drain rate, round trip, D1 work per batch and
// bundle size, measured in one run on this machine. Prints a table and writes
// bench/results/latest.json. Loopback only; every loop is bounded.
import { execFile, execFileSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import type autocannon from "autocannon";
import { bundle, type Host, ROOT, startHost, TOKEN } from "./host.ts";

const run = promisify(execFile);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 32;
const auth = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };

const step = (what: string) => console.error(`... ${what}`);

/** Drives one route with autocannon in its own process, so the load generator
 * does not compete with Miniflare's event loop in this one. */
async function load(
	host: Host,
	name: string,
	route: string,
	init: { method?: "GET" | "POST"; body?: string; json?: boolean } = {},
) {
	step(name);
	const args = ["--json", "-c", String(CONNECTIONS), "-d", String(SECONDS), "-m", init.method ?? "GET"];
	args.push("-H", `authorization=${auth.authorization}`);
	if (init.json !== false) args.push("-H", `content-type=${auth["content-type"]}`);
	if (init.body) args.push("-b", init.body);
	const { stdout } = await run(path.join(ROOT, "node_modules/.bin/autocannon"), [...args, new URL(route, host.url).toString()]);
	const result = JSON.parse(stdout) as autocannon.Result;
	const ok = result["2xx"];
	if (result.non2xx > 0 || result.errors > 0) throw new Error(`${name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
	const measured = {
		name,
		rps: Math.round(ok / result.duration),
		p50: result.latency.p50,
		p99: result.latency.p99,
		requests: ok,
	};
	step(JSON.stringify(measured));
	return measured;
}

async function count(host: Host, sql: string, ...params: unknown[]): Promise<number> {
	const row = await host.db
		.prepare(sql)
		.bind(...params)
		.first<{ n: number }>();
	return row?.n ?? 0;
}

async function waitFor(what: string, done: () => Promise<boolean>, timeoutMs: number) {
	const deadline = Date.now() + timeoutMs;
	while (!(await done())) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 10));
	}
}

const idle = async (host: Host) => {
	step("waiting for the queue to drain");
	const states = await host.db.prepare("SELECT status, count(*) AS n FROM tasks GROUP BY status").all();
	step(JSON.stringify(states.results));
	return waitFor(
		"the queue to drain",
		async () => (await count(host, "SELECT count(*) AS n FROM tasks WHERE status IN ('PENDING','STARTED','RETRY')")) === 0,
		120_000,
	);
};

/** Posts n requests, 32 at a time; returns the task ids. */
async function postMany(host: Host, n: number, request: (i: number) => { path: string; body?: string }) {
	const ids: string[] = new Array(n);
	let next = 0;
	await Promise.all(
		Array.from({ length: CONNECTIONS }, async () => {
			while (next < n) {
				const i = next++;
				const { path, body } = request(i);
				const headers = body ? auth : { authorization: auth.authorization };
				const res = await fetch(new URL(path, host.url), { method: "POST", headers, ...(body ? { body } : {}) });
				if (res.status !== 202) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
				ids[i] = ((await res.json()) as { task_id: string }).task_id;
			}
		}),
	);
	return ids;
}

async function drain(host: Host, name: string, n: number, request: (i: number) => { path: string; body?: string }) {
	await idle(host);
	step(`drain ${n} ${name}`);
	const started = performance.now();
	const ids = await postMany(host, n, request);
	const first = ids[0] ?? "";
	// All ids are newer than the first: count SUCCESS among tasks created since it.
	await waitFor(
		`${name} to finish`,
		async () =>
			(await count(
				host,
				"SELECT count(*) AS n FROM tasks WHERE status = 'SUCCESS' AND created_at >= (SELECT created_at FROM tasks WHERE id = ?)",
				first,
			)) >= n,
		120_000,
	);
	const seconds = (performance.now() - started) / 1000;
	return { name, tasks: n, seconds: Number(seconds.toFixed(2)), perSecond: Math.round(n / seconds) };
}

async function roundTrips(host: Host, runs: number) {
	await idle(host);
	const times: number[] = [];
	for (let i = 0; i < runs; i++) {
		const started = performance.now();
		const res = await fetch(new URL("/process-user/1", host.url), {
			method: "POST",
			headers: { authorization: auth.authorization },
		});
		const { task_id } = (await res.json()) as { task_id: string };
		for (let polls = 0; polls < 10_000; polls++) {
			const task = (await (await fetch(new URL(`/tasks/${task_id}`, host.url), { headers: auth })).json()) as { status: string };
			if (task.status === "SUCCESS") break;
		}
		times.push(performance.now() - started);
	}
	times.sort((a, b) => a - b);
	return { runs, medianMs: Number((times[Math.floor(runs / 2)] ?? 0).toFixed(1)), minMs: Number((times[0] ?? 0).toFixed(1)) };
}

async function d1PerBatch() {
	// A separate host whose entry counts D1 calls per consumed batch; a longer
	// batch window so the 100 messages of one sendBatch arrive as one batch.
	const host = await startHost("bench/worker/counting-entry.ts", { maxBatchTimeout: 1 });
	try {
		await seedUsers(host, 100);
		const batches = async () =>
			(await (await fetch(new URL("/__bench/batches", host.url))).json()) as {
				queue: string;
				messages: number;
				roundTrips: number;
				statements: number;
			}[];
		const userIds = Array.from({ length: 100 }, (_, i) => i + 1);
		await fetch(new URL("/process-users", host.url), {
			method: "POST",
			headers: auth,
			body: JSON.stringify({ user_ids: userIds }),
		});
		await waitFor("100 process-user tasks", async () => (await batches()).some((b) => b.messages === 100), 30_000);
		const messages = userIds.map((i) => ({ email: `user${i}@example.com`, subject: "Hello", body: "Bench" }));
		await fetch(new URL("/send-emails", host.url), { method: "POST", headers: auth, body: JSON.stringify({ messages }) });
		await waitFor("100 emails", async () => (await batches()).filter((b) => b.messages === 100).length >= 2, 30_000);
		const [users, emails] = (await batches()).filter((b) => b.messages === 100);
		return { processUser: users, sendEmail: emails };
	} finally {
		await host.dispose();
	}
}

async function seedUsers(host: Host, n: number) {
	const statements = [];
	for (let i = 1; i <= n; i++)
		statements.push(host.db.prepare("INSERT INTO users (email, name) VALUES (?, ?)").bind(`user${i}@example.com`, `User ${i}`));
	for (let i = 0; i < statements.length; i += 500) await host.db.batch(statements.slice(i, i + 500));
}

function bundleSize() {
	const script = bundle("src/index.ts", "production");
	const code = readFileSync(script);
	return {
		rawKiB: Number((statSync(script).size / 1024).toFixed(1)),
		gzipKiB: Number((gzipSync(code).length / 1024).toFixed(1)),
	};
}

const version = (pkg: string) =>
	JSON.parse(readFileSync(path.join(ROOT, "node_modules", pkg, "package.json"), "utf8")).version as string;

async function main() {
	const started = Date.now();
	const host = await startHost("src/index.ts");
	const measure = async () => {
		await seedUsers(host, 2000);
		const email = JSON.stringify({ email: "ada@example.com", subject: "Bench", body: "Hello from the benchmark." });
		const health = await load(host, "GET /health", "/health");
		const sendEmail = await load(host, "POST /send-email", "/send-email", { method: "POST", body: email });
		await idle(host);
		const processUser = await load(host, "POST /process-user/:id", "/process-user/1", { method: "POST", json: false });
		const drainUsers = await drain(host, "process_user_data", 2000, (i) => ({ path: `/process-user/${(i % 2000) + 1}` }));
		const drainEmails = await drain(host, "send_email", 500, (i) => ({
			path: "/send-email",
			body: JSON.stringify({ email: `user${i}@example.com`, subject: "Drain", body: "x" }),
		}));
		const roundTrip = await roundTrips(host, 20);
		return { health, sendEmail, processUser, drainUsers, drainEmails, roundTrip };
	};
	const results = await measure().finally(() => host.dispose());
	const d1 = await d1PerBatch();
	const size = bundleSize();

	const health = results.health;
	const report = {
		date: new Date().toISOString(),
		machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? "unknown", platform: `${os.platform()} ${os.arch()}` },
		host: "Miniflare API (workerd) on 127.0.0.1, production-style bundle from wrangler; no wrangler dev proxy",
		load: `autocannon ${version("autocannon")}, ${CONNECTIONS} connections, ${SECONDS} s per route`,
		versions: {
			node: process.version,
			wrangler: version("wrangler"),
			miniflare: version("miniflare"),
			workerd: execFileSync(path.join(ROOT, "node_modules/.bin/workerd"), ["--version"]).toString().trim(),
			autocannon: version("autocannon"),
		},
		enqueue: [health, results.sendEmail, results.processUser].map((r) => ({
			...r,
			ofHealth: Number((r.rps / health.rps).toFixed(2)),
		})),
		drain: [results.drainUsers, results.drainEmails],
		roundTrip: results.roundTrip,
		d1PerBatchOf100: d1,
		bundle: size,
		seconds: Math.round((Date.now() - started) / 1000),
	};
	writeFileSync(path.join(ROOT, "bench/results/latest.json"), `${JSON.stringify(report, null, 2)}\n`);

	const rows: string[][] = [["measure", "value", "detail"]];
	for (const r of report.enqueue)
		rows.push([r.name, `${r.rps} req/s`, `p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.ofHealth}x health`]);
	for (const d of report.drain) {
		rows.push([`drain ${d.name}`, `${d.perSecond} tasks/s`, `${d.tasks} tasks in ${d.seconds} s`]);
	}
	rows.push([
		"round trip",
		`${report.roundTrip.medianMs} ms median`,
		`min ${report.roundTrip.minMs} ms over ${report.roundTrip.runs}`,
	]);
	for (const [name, b] of Object.entries(d1)) {
		rows.push([`D1 per batch (${name})`, `${b?.roundTrips} round trips`, `${b?.statements} statements, ${b?.messages} messages`]);
	}
	rows.push(["bundle (production)", `${size.gzipKiB} KiB gzip`, `${size.rawKiB} KiB raw`]);
	const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
	for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join("  "));
	console.log(
		`\n${report.machine.cores} cores, ${report.host}; ${report.load}; ${report.seconds} s. Written to bench/results/latest.json`,
	);
}

await main();
