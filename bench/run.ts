// npm run bench: throughput, drain rate, round trip, D1 and Durable Object
// (FlowControl) calls per batch and bundle size, measured in one run on this
// machine. Prints a table and writes bench/results/latest.json. Loopback
// only; every loop is bounded. `--smoke` only checks that it starts (CI).
import { execFile } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { type CeleryRun, parseCeleryRun, sideBySide } from "./against.ts";
import { billing } from "./billing.ts";
import { coldStart } from "./cold-start.ts";
import { ANSWER_MS, bodyOf, CONNECTIONS, count, PROCESS_USER, runLoad, tally } from "./drive.ts";
import { bundle, type Host, productionVar, ROOT, SEEDED_USERS, seedUsers, startHost, TOKEN } from "./host.ts";
import type { LoadOptions } from "./load.ts";

const run = promisify(execFile);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
// The Worker is measured with the enqueue limiter counting in memory (see
// bench/worker/entry.ts) and logging at the level production sets: a task that
// went well writes no line there. A variant measures development's "info".
const PRODUCTION_LOG_LEVEL = productionVar("LOG_LEVEL") ?? "info";
const MEASURED = { BENCH_LIMITER: "memory", LOG_LEVEL: PRODUCTION_LOG_LEVEL };
const auth = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };

const step = (what: string) => console.error(`... ${what}`);

/** Drives one route with autocannon (runLoad) and says what it measured. */
async function load(
	host: Host,
	name: string,
	route: string,
	init: { method?: "GET" | "POST"; seconds?: number; probe?: boolean } = {},
) {
	step(name);
	const body = bodyOf(route);
	const options: LoadOptions = {
		url: host.url.toString(),
		route,
		users: SEEDED_USERS,
		connections: CONNECTIONS,
		seconds: init.seconds ?? SECONDS,
		method: init.method ?? "GET",
		headers: body === undefined ? { authorization: auth.authorization } : auth,
		body,
	};
	const result = await runLoad(options);
	const ok = result["2xx"];
	if (init.method === "POST" && !init.probe) countEnqueued(host, ok);
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

async function waitFor(what: string, done: () => Promise<boolean>, timeoutMs: number) {
	const deadline = Date.now() + timeoutMs;
	while (!(await done())) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 10));
	}
}

// Tasks the benchmark has enqueued on each host. Enqueue writes no row for a
// task that runs now, so "idle" means: that many tasks have finished.
const enqueued = new WeakMap<Host, number>();
const countEnqueued = (host: Host, n: number) => enqueued.set(host, (enqueued.get(host) ?? 0) + n);

const idle = async (host: Host) => {
	const expected = enqueued.get(host) ?? 0;
	step(`waiting for ${expected} tasks to finish`);
	await waitForCount(() => count(host, "/__bench/finished"), expected);
};

// Miniflare's local queue broker has been seen to stop delivering under load
// (no error anywhere; the backlog just stays). Fail fast and say so rather
// than wait out a long timeout.
const STALL_MS = 15_000;

/** Polls a count until it reaches `target`; fails if it stops moving. */
async function waitForCount(current: () => Promise<number>, target: number) {
	let last = -1;
	let movedAt = Date.now();
	for (;;) {
		const n = await current();
		if (n >= target) return;
		if (n !== last) {
			last = n;
			movedAt = Date.now();
		} else if (Date.now() - movedAt > STALL_MS) {
			throw new Error(
				`${n} of ${target} tasks finished and none in ${STALL_MS / 1000} s: the local queue stopped delivering; run the benchmark again`,
			);
		}
		await new Promise((r) => setTimeout(r, 10));
	}
}

/**
 * N tasks, first POST to last SUCCESS (read from D1). The POSTs come from
 * autocannon in its own process (bench/post.ts), CONNECTIONS at a time.
 */
async function drain(host: Host, kind: "process_user_data" | "send_email", n: number, prefix = "") {
	await idle(host);
	step(`drain ${n} ${kind}${prefix && ` under ${prefix}`}`);
	const { stdout } = await run(
		process.execPath,
		[path.join(ROOT, "bench/post.ts"), host.url.toString(), TOKEN, kind, String(n), String(SEEDED_USERS), prefix],
		{
			maxBuffer: 16 * 1024 * 1024,
		},
	);
	const { ids, startedAt } = JSON.parse(stdout) as { ids: string[]; startedAt: number };
	if (ids.length !== n) throw new Error(`drain ${kind}: ${ids.length} of ${n} enqueued`);
	countEnqueued(host, n);
	await waitForCount(() => count(host, "/__bench/succeeded", ids), n);
	// Until the last task finished, as its row says, not until this process saw
	// it: autocannon returns only at the next tick of its one-second clock after
	// its last response, which put every drain on whole seconds (2,000 tasks in
	// 2.05 s or in 3.05 s, 975/s or 655/s, for a few milliseconds' difference).
	const { last } = await tally(host, "/__bench/succeeded", ids);
	if (typeof last !== "number") throw new Error(`drain ${kind}: no finish time among ${n} succeeded tasks`);
	const seconds = (last - startedAt) / 1000;
	return { name: kind, tasks: n, seconds: Number(seconds.toFixed(2)), perSecond: Math.round(n / seconds) };
}

async function roundTrips(host: Host, runs: number, prefix = "") {
	await idle(host);
	const times: number[] = [];
	for (let i = 0; i < runs; i++) {
		const started = performance.now();
		// As the reference's round trip: a JSON body, and the users in turn.
		const res = await fetch(new URL(`${prefix}/process-user/${(i % SEEDED_USERS) + 1}`, host.url), {
			method: "POST",
			headers: auth,
			body: PROCESS_USER,
			signal: AbortSignal.timeout(ANSWER_MS),
		});
		const { task_id } = (await res.json()) as { task_id: string };
		countEnqueued(host, 1);
		let status = "";
		for (let polls = 0; polls < 10_000 && status !== "SUCCESS"; polls++) {
			const res = await fetch(new URL(`/tasks/${task_id}`, host.url), { headers: auth, signal: AbortSignal.timeout(ANSWER_MS) });
			({ status } = (await res.json()) as { status: string });
		}
		if (status !== "SUCCESS") throw new Error(`round trip: task ${task_id} is ${status} after 10,000 polls`);
		times.push(performance.now() - started);
	}
	times.sort((a, b) => a - b);
	return { runs, medianMs: Number((times[Math.floor(runs / 2)] ?? 0).toFixed(1)), minMs: Number((times[0] ?? 0).toFixed(1)) };
}

interface BatchCounts {
	queue: string;
	messages: number;
	roundTrips: number;
	statements: number;
	flowCalls: number;
	flowByMethod: Record<string, number>;
}

/**
 * On a second host whose entry counts D1 calls per consumed batch (see
 * bench/worker/entry.ts), with production's batch size (100) and a 1 s window
 * so that 100 messages sent together arrive as one batch. Also measures the
 * two remote calls an enqueue could make, alone: one D1 insert, one queue send.
 */
async function perBatchAndProbes() {
	const host = await startHost(ENTRY, {
		consumer: { maxBatchTimeout: 1, maxBatchSize: 100 },
		vars: { BENCH_COUNT_D1: "1" },
	});
	try {
		await seedUsers(host, 100);
		const batches = async () =>
			(await (
				await fetch(new URL("/__bench/batches", host.url), { signal: AbortSignal.timeout(ANSWER_MS) })
			).json()) as BatchCounts[];
		const post = (route: string, body: unknown) =>
			fetch(new URL(route, host.url), {
				method: "POST",
				headers: auth,
				body: JSON.stringify(body),
				signal: AbortSignal.timeout(ANSWER_MS),
			});
		const full = async (n: number) => (await batches()).filter((b) => b.messages === 100).length >= n;
		const userIds = Array.from({ length: 100 }, (_, i) => i + 1);
		const emails = (n: number) =>
			userIds.slice(0, n).map((i) => ({ email: `user${i}@example.com`, subject: "Hi", body: "Bench" }));

		await post("/process-users", { user_ids: userIds });
		await waitFor("a batch of 100 process-user tasks", () => full(1), 30_000);
		await post("/send-emails", { messages: emails(100) });
		await waitFor("a batch of 100 emails", () => full(2), 30_000);
		await Promise.all([
			post("/process-users", { user_ids: userIds.slice(0, 50) }),
			post("/send-emails", { messages: emails(50) }),
		]);
		await waitFor("a mixed batch of 100", () => full(3), 30_000);
		const [processUser, sendEmail, mixed] = (await batches()).filter((b) => b.messages === 100);

		const seconds = Math.max(2, Math.round(SECONDS / 2));
		const probe = (name: string, route: string) => load(host, name, route, { method: "POST", seconds, probe: true });
		const probes = [
			await load(host, "probe: GET /health", "/health", { seconds }),
			await probe("probe: one queue send", "/__bench/queue-send"),
			await probe("probe: one D1 insert", "/__bench/d1-insert"),
			await probe("probe: one Miniflare limiter call", "/__bench/limiter"),
			await probe("probe: one email (MIME + send_email)", "/__bench/email-send"),
		];
		probes.push(await assetRouterProbe(seconds));
		return { d1: { processUser, sendEmail, mixed }, probes };
	} finally {
		await host.dispose();
	}
}

/**
 * What Miniflare's static-assets router costs locally: /health with it in
 * front, as `wrangler dev` serves. The other hosts leave it out (see
 * bench/host.ts): in production the platform routes before the Worker runs.
 */
async function assetRouterProbe(seconds: number) {
	const host = await startHost(ENTRY, { assetRouter: true });
	try {
		return await load(host, "probe: GET /health through the local asset router", "/health", { seconds });
	} finally {
		await host.dispose();
	}
}

/** The production bundle's size, and what is in it: minified bytes per package. */
function bundleSize() {
	const script = bundle("src/index.ts", "production");
	const code = readFileSync(script);
	const meta = JSON.parse(readFileSync(path.join(path.dirname(script), "bundle-meta.json"), "utf8")) as {
		outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }>;
	};
	const byPackage = new Map<string, number>();
	for (const output of Object.values(meta.outputs)) {
		for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
			const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? "edge-tasks (src/)";
			byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
		}
	}
	return {
		rawKiB: Number((statSync(script).size / 1024).toFixed(1)),
		gzipKiB: Number((gzipSync(code).length / 1024).toFixed(1)),
		minifiedKiBByPackage: Object.fromEntries(
			[...byPackage]
				.sort((a, b) => b[1] - a[1])
				.filter(([, bytes]) => bytes >= 1024)
				.map(([name, bytes]) => [name, Number((bytes / 1024).toFixed(1))]),
		),
	};
}

const version = (pkg: string) =>
	JSON.parse(readFileSync(path.join(ROOT, "node_modules", pkg, "package.json"), "utf8")).version as string;

const ENTRY = "bench/worker/entry.ts";

const BARE = "/__bench/bare";

const ENQUEUE = {
	sendEmail: { name: "POST /send-email", route: "/send-email" },
	processUser: { name: "POST /process-user/:id", route: "/process-user/{id}" },
} as const;

/** One enqueue route under load, then until its tasks have finished; the bare floor's with `prefix`. */
async function enqueueLoad(host: Host, which: keyof typeof ENQUEUE, prefix = "") {
	const { name, route } = ENQUEUE[which];
	const measured = await load(host, prefix ? `floor: ${name}` : name, `${prefix}${route}`, { method: "POST" });
	await idle(host);
	return measured;
}

/**
 * The headline run: the Worker with the development config, its enqueue
 * limiter counting in memory as production's does (see bench/worker/entry.ts).
 * Each load, drain and round trip is followed at once by the same against the
 * host's bare floor: what the local queue, D1 and send_email allow a consumer
 * that only does the task's work and writes its result. Side by side in time,
 * so that the machine's noise falls on both alike.
 */
async function headline() {
	const host = await startHost(ENTRY, { vars: MEASURED });
	try {
		await seedUsers(host, SEEDED_USERS);
		const health = await load(host, "GET /health", "/health");
		const enqueue = async (which: keyof typeof ENQUEUE) => ({
			ours: await enqueueLoad(host, which),
			floor: await enqueueLoad(host, which, BARE),
		});
		const sendEmail = await enqueue("sendEmail");
		const processUser = await enqueue("processUser");
		const drains = async (kind: "process_user_data" | "send_email", n: number) => ({
			ours: await drain(host, kind, n),
			floor: await drain(host, kind, n, BARE),
		});
		const drainUsers = await drains("process_user_data", 2000);
		const drainEmails = await drains("send_email", 500);
		const roundTrip = { ours: await roundTrips(host, 20), floor: await roundTrips(host, 20, BARE) };
		return {
			health,
			sendEmail: sendEmail.ours,
			processUser: processUser.ours,
			drainUsers: drainUsers.ours,
			drainEmails: drainEmails.ours,
			roundTrip: roundTrip.ours,
			floor: {
				sendEmail: sendEmail.floor,
				processUser: processUser.floor,
				drainUsers: drainUsers.floor,
				drainEmails: drainEmails.floor,
				roundTrip: roundTrip.floor,
			},
		};
	} finally {
		await host.dispose();
	}
}

/**
 * The same enqueue loads and drains on a variant of the headline's host,
 * measured after it: the Worker built from the same tasks without their flow
 * limits (BENCH_LIMITS=off: what flow control costs), and the Worker at
 * LOG_LEVEL=warn (what the two lines a task logs at info cost).
 */
async function variant(vars: Record<string, string>) {
	const host = await startHost(ENTRY, { vars: { ...MEASURED, ...vars } });
	try {
		await seedUsers(host, SEEDED_USERS);
		// As on the headline's host, /health first: both hosts' enqueue loads start on a warmed isolate.
		await load(host, "GET /health", "/health");
		const sendEmail = await enqueueLoad(host, "sendEmail");
		const processUser = await enqueueLoad(host, "processUser");
		const drainUsers = await drain(host, "process_user_data", 2000);
		const drainEmails = await drain(host, "send_email", 500);
		return { sendEmail, processUser, drainUsers, drainEmails };
	} finally {
		await host.dispose();
	}
}

function readCeleryRun(given: string): CeleryRun {
	const file = statSync(given).isDirectory() ? path.join(given, "results.env") : given;
	const summary = path.join(path.dirname(file), "summary.txt");
	return parseCeleryRun(
		path.basename(path.dirname(path.resolve(file))),
		readFileSync(file, "utf8"),
		existsSync(summary) ? readFileSync(summary, "utf8") : undefined,
	);
}

/** `--against <run>`: a Flask + Celery reference run to set beside this one (bench/against.ts). */
function againstArg(): CeleryRun | undefined {
	const at = process.argv.indexOf("--against");
	if (at < 0) return undefined;
	const given = process.argv[at + 1];
	if (!given) throw new Error("--against needs a Celery run: its folder or its results.env");
	return readCeleryRun(given);
}

function printTable(rows: string[][]) {
	const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
	for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join("  "));
}

async function main() {
	const started = Date.now();
	// Read first: a wrong path fails before minutes of measuring.
	const celery = againstArg();
	const results = await headline();
	const off = await variant({ BENCH_LIMITS: "off" });
	const chatty = await variant({ LOG_LEVEL: "info" });
	const { d1, probes } = await perBatchAndProbes();
	const bill = await billing();
	const size = bundleSize();
	const cold = await coldStart();

	const health = results.health;
	const report = {
		date: new Date().toISOString(),
		machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? "unknown", platform: `${os.platform()} ${os.arch()}` },
		host: "Miniflare API (workerd) on 127.0.0.1, bundles built by wrangler; no wrangler dev proxy",
		limiter:
			"the enqueue limiter counts in isolate memory, as production's binding counts locally; the probe shows one call to Miniflare's SQLite-backed emulation",
		logs: `LOG_LEVEL=${PRODUCTION_LOG_LEVEL}, as wrangler.toml's production environment sets it; the LOG_LEVEL=info rows are development's`,
		load: `autocannon ${version("autocannon")}, ${CONNECTIONS} connections, ${SECONDS} s per route`,
		versions: {
			node: process.version,
			wrangler: version("wrangler"),
			miniflare: version("miniflare"),
			// The workerd that Miniflare runs (its own dependency), not whichever is hoisted.
			workerd: version("miniflare/node_modules/workerd"),
			autocannon: version("autocannon"),
		},
		enqueue: [health, results.sendEmail, results.processUser].map((r) => ({
			...r,
			ofHealth: Number((r.rps / health.rps).toFixed(2)),
		})),
		probes: probes.map((r) => ({ ...r, ofHealth: Number((r.rps / (probes[0]?.rps ?? r.rps)).toFixed(2)) })),
		drain: [results.drainUsers, results.drainEmails],
		limitsOff: {
			enqueue: [off.sendEmail, off.processUser],
			drain: [off.drainUsers, off.drainEmails],
		},
		logsAtInfo: {
			enqueue: [chatty.sendEmail, chatty.processUser],
			drain: [chatty.drainUsers, chatty.drainEmails],
		},
		roundTrip: results.roundTrip,
		floor: results.floor,
		d1PerBatchOf100: d1,
		billing: bill.report,
		bundle: size,
		coldStart: cold,
		against: celery && {
			run: celery.run,
			stack: celery.stack,
			rows: sideBySide(
				{
					sendEmail: results.sendEmail,
					processUser: results.processUser,
					drainUsers: results.drainUsers.perSecond,
					drainEmails: results.drainEmails.perSecond,
					roundTripMs: results.roundTrip.medianMs,
					floor: {
						sendEmail: results.floor.sendEmail,
						processUser: results.floor.processUser,
						drainUsers: results.floor.drainUsers.perSecond,
						drainEmails: results.floor.drainEmails.perSecond,
						roundTripMs: results.floor.roundTrip.medianMs,
					},
				},
				celery,
			),
		},
		seconds: Math.round((Date.now() - started) / 1000),
	};
	writeFileSync(path.join(ROOT, "bench/results/latest.json"), `${JSON.stringify(report, null, "\t")}\n`);

	// Structural targets (round trips and calls per batch, the bundle) are
	// checked here; the speed goals are Flask + Celery's figures (--against),
	// and beside each speed is the bare floor measured on the same host.
	const verdict = (ok: boolean, target: string) => `${ok ? "met" : "MISSED"}: ${target}`;
	const { floor } = results;
	const share = (a: number, b: number) => `${Math.round((a / b) * 100)}%`;
	const enqueueFloor = [undefined, floor.sendEmail, floor.processUser];
	const rows: string[][] = [["measure", "value", "detail", "target, or the bare floor"]];
	const loadRow = (r: (typeof report.enqueue)[number], suffix: string, target: string) => [
		`${r.name}${suffix}`,
		`${r.rps} req/s`,
		`p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.ofHealth}x health`,
		target,
	];
	report.enqueue.forEach((r, i) => {
		const f = enqueueFloor[i];
		rows.push(
			loadRow(r, "", f ? `floor ${f.rps} req/s, p99 ${f.p99} ms: ${share(r.rps, f.rps)} of its rate` : "the runtime's ceiling"),
		);
	});
	for (const r of report.probes) rows.push(loadRow(r, "", "what one call costs alone"));
	const drainFloors = [floor.drainUsers, floor.drainEmails];
	report.drain.forEach((d, i) => {
		const f = drainFloors[i];
		rows.push([
			`drain ${d.name}`,
			`${d.perSecond} tasks/s`,
			`${d.tasks} tasks in ${d.seconds} s`,
			f ? `floor ${f.perSecond}/s: ${share(d.perSecond, f.perSecond)} of it` : "",
		]);
	});
	// Flow limits on (the headline) against off, measured in this run.
	const onOff = (name: string, on: number, offValue: number, unit: string) =>
		rows.push([
			`${name}, limits off`,
			`${offValue} ${unit}`,
			`limits on ${on} ${unit}: ${(on / offValue).toFixed(2)}x of off`,
			"",
		]);
	onOff(results.sendEmail.name, results.sendEmail.rps, off.sendEmail.rps, "req/s");
	onOff(results.processUser.name, results.processUser.rps, off.processUser.rps, "req/s");
	onOff(`drain ${off.drainUsers.name}`, results.drainUsers.perSecond, off.drainUsers.perSecond, "tasks/s");
	onOff(`drain ${off.drainEmails.name}`, results.drainEmails.perSecond, off.drainEmails.perSecond, "tasks/s");
	// The headline logs at production's level; the same at development's "info"
	// (two lines a task), measured in this run.
	const atInfo = (name: string, measured: number, info: number, unit: string, p99 = "") =>
		rows.push([
			`${name}, LOG_LEVEL=info`,
			`${info} ${unit}${p99}`,
			`at ${PRODUCTION_LOG_LEVEL} ${measured} ${unit}: ${(info / measured).toFixed(2)}x of it`,
			"",
		]);
	for (const which of ["sendEmail", "processUser"] as const) {
		atInfo(results[which].name, results[which].rps, chatty[which].rps, "req/s", `, p99 ${chatty[which].p99} ms`);
	}
	for (const which of ["drainUsers", "drainEmails"] as const) {
		atInfo(`drain ${results[which].name}`, results[which].perSecond, chatty[which].perSecond, "tasks/s");
	}
	rows.push([
		"round trip",
		`${report.roundTrip.medianMs} ms median`,
		`min ${report.roundTrip.minMs} ms over ${report.roundTrip.runs}`,
		`floor ${floor.roundTrip.medianMs} ms: ${share(floor.roundTrip.medianMs, report.roundTrip.medianMs)} of its speed`,
	]);
	const batchTargets: Record<string, number> = {
		processUser: 1,
		sendEmail: 2,
		mixed: 3,
	};
	for (const [name, b] of Object.entries(d1)) {
		const target = batchTargets[name] ?? 0;
		rows.push([
			`D1 per batch (${name})`,
			`${b?.roundTrips} round trips`,
			`${b?.statements} statements, ${b?.messages} messages`,
			verdict((b?.roundTrips ?? Infinity) <= target, `<= ${target}`),
		]);
	}
	// FlowControl calls a batch may make (wrangler.toml's subrequest budget):
	// process_user_data's concurrency limit take, give back, extend; send_email's
	// rate limit take, refund.
	const flowTargets: Record<string, number> = { processUser: 3, sendEmail: 2, mixed: 5 };
	for (const [name, b] of Object.entries(d1)) {
		const target = flowTargets[name] ?? 0;
		const byMethod = Object.entries(b?.flowByMethod ?? {})
			.map(([method, n]) => `${method} ${n}`)
			.join(", ");
		rows.push([
			`DO per batch (${name})`,
			`${b?.flowCalls} FlowControl calls`,
			`${byMethod || "none"}; ${b?.messages} messages`,
			verdict((b?.flowCalls ?? Infinity) <= target, `<= ${target}`),
		]);
	}
	rows.push(...bill.rows);
	const largest = Object.entries(size.minifiedKiBByPackage)
		.slice(0, 4)
		.map(([name, kib]) => `${name} ${kib}`)
		.join(", ");
	rows.push([
		"bundle (production)",
		`${size.gzipKiB} KiB gzip`,
		`${size.rawKiB} KiB raw; largest, minified KiB: ${largest}`,
		verdict(size.gzipKiB <= 105, "<= 105 KiB gzip"),
	]);
	rows.push([
		"cold start (production bundle)",
		`${cold.scriptMs} ms`,
		`start to first answer ${cold.medianMs} ms, a Worker that only answers ${cold.bareMedianMs} ms; medians of ${cold.runs}`,
		"what loading the script costs",
	]);
	printTable(rows);
	if (report.against) {
		console.log(`\nSide by side with Flask + Celery run ${report.against.run} (${report.against.stack})`);
		printTable(report.against.rows);
	}
	console.log(
		`\n${report.machine.cores} cores, ${report.host}; ${report.logs}; ${report.load}; ${report.seconds} s. Written to bench/results/latest.json`,
	);
}

/**
 * `--smoke` (CI): the bench's own host starts, answers, and runs a task to
 * SUCCESS, in seconds and without measuring anything; the full bench stays
 * out of CI.
 */
async function smoke() {
	const host = await startHost(ENTRY, { vars: { BENCH_LIMITER: "memory" } });
	try {
		await seedUsers(host, 1);
		const health = await fetch(new URL("/health", host.url), { signal: AbortSignal.timeout(ANSWER_MS) });
		if (!health.ok) throw new Error(`GET /health: ${health.status}`);
		const { medianMs } = await roundTrips(host, 1);
		console.log(`bench smoke: the host answers and ran a task to SUCCESS in ${medianMs} ms`);
	} finally {
		await host.dispose();
	}
}

await (process.argv.includes("--smoke") ? smoke() : main());
