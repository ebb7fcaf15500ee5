// npm run bench:cpu: where an enqueue's time goes, as CPU time of the workerd
// process per request. Locally workerd runs the Worker, its D1, the queue
// broker and the Durable Objects on one thread, so under load a route's rate
// is about 1 / (CPU per request, with the consumption of the task it
// enqueued). CPU time is read from /proc (Linux) before a load and after every
// task it enqueued has finished; it moves far less with the machine's other
// load than a rate does. Each step adds one thing to the one before it:
//
//   nothing            GET /__bench/nothing: workerd's HTTP handling and the bench entry
//   GET /health        + Hono, the global middleware and the request's context
//   one queue send     POST /__bench/queue-send: one message sent, delivered and acked
//   floor              the bare floor's route and consumer (bench/worker/entry.ts)
//   engine             the engine's enqueue and consumer, without the HTTP layer
//   route              the Worker's own route: + authentication, validation, the limiter
//
// Rounds alternate the steps; each figure is the median of its rounds.
//   npm run bench:cpu [-- rounds [pattern]]    (BENCH_SECONDS a load, 4 by default)
// With a pattern (a regular expression), only the steps whose names match it.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { bodyOf, CONNECTIONS, count, runLoad } from "./drive.ts";
import { type Host, productionVar, SEEDED_USERS, seedUsers, startHost, TOKEN } from "./host.ts";
import type { LoadOptions } from "./load.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.argv[2] ?? 3);
const TICKS_PER_SECOND = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());

interface Step {
	name: string;
	method: "GET" | "POST";
	route: string;
	/** How many tasks each request enqueues (waited on until finished). */
	tasks: number;
}

const only = process.argv[3] ? new RegExp(process.argv[3]) : undefined;
const allSteps: Step[] = [
	{ name: "nothing", method: "GET", route: "/__bench/nothing", tasks: 0 },
	{ name: "GET /health", method: "GET", route: "/health", tasks: 0 },
	{ name: "one queue send", method: "POST", route: "/__bench/queue-send", tasks: 0 },
	{ name: "process_user_data: floor", method: "POST", route: "/__bench/bare/process-user/{id}", tasks: 1 },
	{ name: "process_user_data: engine", method: "POST", route: "/__bench/engine/process-user/{id}", tasks: 1 },
	{ name: "process_user_data: route", method: "POST", route: "/process-user/{id}", tasks: 1 },
	{ name: "send_email: floor", method: "POST", route: "/__bench/bare/send-email", tasks: 1 },
	{ name: "send_email: engine", method: "POST", route: "/__bench/engine/send-email", tasks: 1 },
	{ name: "send_email: route", method: "POST", route: "/send-email", tasks: 1 },
];
const steps = allSteps.filter((s) => !only || only.test(s.name));

/** The workerd process Miniflare started for this host: a child of this process. */
function workerdPid(): number {
	for (const entry of readdirSync("/proc")) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
			const [, comm = "", rest = ""] = /^\d+ \((.*)\) (.*)$/s.exec(stat) ?? [];
			if (comm === "workerd" && Number(rest.split(" ")[1]) === process.pid) return Number(entry);
		} catch {
			// The process ended while the directory was read.
		}
	}
	throw new Error("no workerd process among this process's children (bench:cpu reads /proc: Linux only)");
}

/** User plus system CPU time of a process, in microseconds. */
function cpuMicros(pid: number): number {
	const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
	const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
	// utime and stime: fields 14 and 15 of proc(5), 12 and 13 after the name.
	return ((Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND) * 1e6;
}

async function measure(host: Host, pid: number, step: Step, expected: { tasks: number }): Promise<number> {
	const body = bodyOf(step.route);
	const options: LoadOptions = {
		url: host.url.toString(),
		route: step.route,
		users: SEEDED_USERS,
		connections: CONNECTIONS,
		seconds: SECONDS,
		method: step.method,
		headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
		body,
	};
	const before = cpuMicros(pid);
	const result = await runLoad(options);
	if (result.non2xx > 0 || result.errors > 0) throw new Error(`${step.name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
	expected.tasks += result["2xx"] * step.tasks;
	const deadline = Date.now() + 60_000;
	while ((await count(host, "/__bench/finished")) < expected.tasks) {
		if (Date.now() > deadline) throw new Error(`${step.name}: its tasks did not finish within 60 s`);
		await new Promise((r) => setTimeout(r, 20));
	}
	// Messages that enqueue no task (the queue-send probe's) are acked by then too.
	await new Promise((r) => setTimeout(r, 300));
	return (cpuMicros(pid) - before) / result["2xx"];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

const host = await startHost("bench/worker/entry.ts", {
	vars: { BENCH_LIMITER: "memory", LOG_LEVEL: productionVar("LOG_LEVEL") ?? "info" },
});
try {
	await seedUsers(host, SEEDED_USERS);
	const pid = workerdPid();
	const expected = { tasks: await count(host, "/__bench/finished") };
	const samples = new Map<string, number[]>(steps.map((s) => [s.name, []]));
	for (let round = 1; round <= ROUNDS; round++) {
		for (const step of steps) {
			const micros = await measure(host, pid, step, expected);
			samples.get(step.name)?.push(micros);
			console.error(`... round ${round}: ${step.name} ${Math.round(micros)} µs`);
		}
	}
	const at = (name: string) => median(samples.get(name) ?? []);
	const rows: [string, string][] = steps.map((s) => [s.name, `${Math.round(at(s.name))} µs`]);
	const part = (name: string, a: string, b: string) => {
		if (samples.get(a)?.length && samples.get(b)?.length) rows.push([name, `${Math.round(at(a) - at(b))} µs`]);
	};
	part("Hono, middleware, context (health - nothing)", "GET /health", "nothing");
	for (const task of ["process_user_data", "send_email"]) {
		part(`${task}: HTTP layer (route - engine)`, `${task}: route`, `${task}: engine`);
		part(`${task}: engine beyond the floor (engine - floor)`, `${task}: engine`, `${task}: floor`);
	}
	const width = Math.max(...rows.map(([name]) => name.length));
	console.log(`workerd CPU per request, with its task's consumption; medians of ${ROUNDS} rounds of ${SECONDS} s loads`);
	for (const [name, value] of rows) console.log(`${name.padEnd(width)}  ${value.padStart(8)}`);
} finally {
	await host.dispose();
}
