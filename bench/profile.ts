// npm run bench:profile -- [route] [seconds]: a CPU profile of the Worker's
// isolate while autocannon drives one enqueue route (default POST
// /send-email), the consumer draining behind it as in `npm run bench`. Takes
// the profile through workerd's inspector (the DevTools protocol), writes it
// to bench/results/<route>.cpuprofile (open it in Chrome's DevTools) and
// prints where the time went: by function (self time, and total time with its
// callees) and by package.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { bodyOf, CONNECTIONS, runLoad } from "./drive.ts";
import { productionVar, ROOT, SEEDED_USERS, seedUsers, startHost, TOKEN } from "./host.ts";
import type { LoadOptions } from "./load.ts";

const route = process.argv[2] ?? "/send-email";
const seconds = Number(process.argv[3] ?? 6);
const INSPECTOR_PORT = 9239;

interface ProfileNode {
	id: number;
	callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
	children?: number[];
}
interface Profile {
	nodes: ProfileNode[];
	samples: number[];
	timeDeltas: number[];
	startTime: number;
	endTime: number;
}

/** One DevTools-protocol session over the inspector's WebSocket. */
async function inspect(port: number) {
	const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as {
		title?: string;
		webSocketDebuggerUrl: string;
	}[];
	const target = targets.find((t) => t.title?.endsWith(":edge-tasks"));
	if (!target) throw new Error("no inspector target");
	const socket = new WebSocket(target.webSocketDebuggerUrl);
	await new Promise((resolve, reject) => {
		socket.addEventListener("open", resolve, { once: true });
		socket.addEventListener("error", reject, { once: true });
	});
	let next = 1;
	const pending = new Map<number, (result: unknown) => void>();
	socket.addEventListener("message", (event) => {
		const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
		if (message.id !== undefined) pending.get(message.id)?.(message.result);
	});
	return {
		send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
			const id = next++;
			socket.send(JSON.stringify({ id, method, params }));
			return new Promise((resolve) => pending.set(id, resolve as (result: unknown) => void));
		},
		close: () => socket.close(),
	};
}

/**
 * Self time per function and per package, and total time per function (its
 * own and its callees', counted once however deep it recurses), in ms,
 * largest first. Total time is what shows a cost paid in native code, such as
 * console.log's, under the function that asked for it.
 *
 * Each sample counts as one sampling interval (the median gap between
 * samples). The profiler samples this isolate only while workerd's thread is
 * in it: while the thread serves Miniflare's entry Worker, the D1 and queue
 * objects (each an isolate of its own) or its own I/O, no sample is taken,
 * and the next one comes after a gap of up to hundreds of ms. Weighing a
 * sample by the gap before it (or after it, as DevTools does) would put that
 * time on whichever frame happened to be sampled next to the gap; it is
 * reported apart instead, as time outside the isolate. Percentages are of
 * the isolate's busy time: its samples less those taken while it was idle.
 */
function summarize(profile: Profile) {
	const byId = new Map(profile.nodes.map((n) => [n.id, n]));
	const parentOf = new Map<number, number>();
	for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
	const gaps = profile.timeDeltas.toSorted((a, b) => a - b);
	const interval = (gaps[gaps.length >> 1] ?? 0) / 1000;
	const self = new Map<number, number>();
	for (const id of profile.samples) self.set(id, (self.get(id) ?? 0) + interval);
	const total = (profile.endTime - profile.startTime) / 1000;
	const sampled = profile.samples.length * interval;
	const idle = [...self].filter(([id]) => byId.get(id)?.callFrame.functionName === "(idle)").reduce((sum, [, ms]) => sum + ms, 0);
	const busy = sampled - idle;
	const nameOf = (id: number) => {
		const { functionName, url, lineNumber } = byId.get(id)?.callFrame ?? { functionName: "?", url: "", lineNumber: 0 };
		const where = url ? `${path.basename(url)}:${lineNumber + 1}` : "";
		return { name: `${functionName || "(anonymous)"} ${where}`.trim(), url, functionName };
	};
	const byFunction = new Map<string, number>();
	const byPackage = new Map<string, number>();
	const inclusive = new Map<string, number>();
	for (const [id, ms] of self) {
		const { name, url, functionName } = nameOf(id);
		if (functionName === "(idle)") continue;
		byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
		const pkg = url ? (/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? "edge-tasks") : functionName;
		byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + ms);
		const counted = new Set<string>();
		for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
			const caller = nameOf(at).name;
			if (!counted.has(caller)) inclusive.set(caller, (inclusive.get(caller) ?? 0) + ms);
			counted.add(caller);
		}
	}
	inclusive.delete("(root)");
	const top = (m: Map<string, number>, n: number) =>
		[...m]
			.sort((a, b) => b[1] - a[1])
			.slice(0, n)
			.map(([name, ms]) => `${ms.toFixed(0).padStart(7)} ms  ${((ms / busy) * 100).toFixed(1).padStart(5)}%  ${name}`);
	return {
		total,
		sampled,
		busy,
		functions: top(byFunction, 30),
		packages: top(byPackage, 12),
		inclusive: top(inclusive, 30),
	};
}

const host = await startHost("bench/worker/entry.ts", {
	// As `npm run bench` measures: at the log level production sets (LOG_LEVEL=info for development's).
	vars: { BENCH_LIMITER: "memory", LOG_LEVEL: process.env.LOG_LEVEL ?? productionVar("LOG_LEVEL") ?? "info" },
	inspectorPort: INSPECTOR_PORT,
	minify: false,
});
try {
	await seedUsers(host, SEEDED_USERS);

	const inspector = await inspect(INSPECTOR_PORT);
	await inspector.send("Profiler.enable");
	await inspector.send("Profiler.setSamplingInterval", { interval: 200 });
	await inspector.send("Profiler.start");
	const body = bodyOf(route);
	const options: LoadOptions = {
		url: host.url.toString(),
		route,
		users: SEEDED_USERS,
		connections: CONNECTIONS,
		seconds,
		method: route === "/health" ? "GET" : "POST",
		headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
		body,
	};
	const load = await runLoad(options);
	const { profile } = await inspector.send<{ profile: Profile }>("Profiler.stop");
	inspector.close();

	const file = path.join(ROOT, "bench/results", `${route.replace(/\W+/g, "-").replace(/^-|-$/g, "")}.cpuprofile`);
	writeFileSync(file, JSON.stringify(profile));
	const { total, sampled, busy, functions, packages, inclusive } = summarize(profile);
	console.log(
		`${route}: ${Math.round(load.requests.average)} req/s, p50 ${load.latency.p50} ms, p99 ${load.latency.p99} ms; profile ${total.toFixed(0)} ms, written to ${path.relative(ROOT, file)}`,
	);
	const ms = (n: number) => `${n.toFixed(0)} ms`;
	console.log(
		`the Worker's isolate: busy ${ms(busy)} (${Math.round((busy * 1000) / load["2xx"])} µs a request, with its task's consumption), idle ${ms(sampled - busy)}; outside it ${ms(total - sampled)} (Miniflare's entry Worker, the D1 and queue objects, workerd's I/O, waiting). Percentages below are of the busy time.`,
	);
	console.log("\nself time by package\n", packages.join("\n"));
	console.log("\nself time by function\n", functions.join("\n"));
	console.log("\ntotal time by function (with what it calls)\n", inclusive.join("\n"));
} finally {
	await host.dispose();
}
