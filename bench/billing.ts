// What production bills per task, measured: the Worker invocations, D1 rows,
// queue operations and Durable Object requests and rows that each way of
// enqueuing and running a task costs, counted by the bench entry
// (bench/worker/entry.ts with BENCH_COUNT_D1=1) on a host of its own, then
// priced with Cloudflare's published prices. `node bench/billing.ts` runs it
// alone; `npm run bench` includes it. Workers CPU time is not counted: workerd
// here is neither production's CPU nor alone on it, so CPU is priced per
// millisecond instead of guessed.
import { MAX_DELAY_SECONDS } from "../src/engine/limits.ts";
import { ANSWER_MS } from "./drive.ts";
import { type Host, seedUsers, startHost, TOKEN } from "./host.ts";

/** The day the prices below were read from the pages they cite. */
export const PRICES_AS_OF = "2026-12-01";

/** Workers Paid, USD per million units beyond the monthly included usage. */
export const PRICES = {
	workerRequests: { usd: 0.3, url: "https://developers.cloudflare.com/workers/platform/pricing/" },
	d1RowsRead: { usd: 0.001, url: "https://developers.cloudflare.com/d1/platform/pricing/" },
	d1RowsWritten: { usd: 1, url: "https://developers.cloudflare.com/d1/platform/pricing/" },
	queueOps: { usd: 0.4, url: "https://developers.cloudflare.com/queues/platform/pricing/" },
	doRequests: { usd: 0.15, url: "https://developers.cloudflare.com/durable-objects/platform/pricing/" },
	// SQLite-backed Durable Objects' rows are billed at D1's rates (since January 2026).
	doRowsRead: { usd: 0.001, url: "https://developers.cloudflare.com/durable-objects/platform/pricing/" },
	doRowsWritten: { usd: 1, url: "https://developers.cloudflare.com/durable-objects/platform/pricing/" },
} as const;

/** Left out of the totals: USD per million CPU milliseconds, so per million tasks for each CPU ms a task takes. */
export const CPU_MS = { usd: 0.02, url: "https://developers.cloudflare.com/workers/platform/pricing/" } as const;

export type Usage = Record<keyof typeof PRICES, number>;

/** USD per million tasks: one unit per task is a million units per million tasks. */
export const costPerMillion = (usage: Usage): number =>
	(Object.keys(PRICES) as (keyof Usage)[]).reduce((sum, key) => sum + usage[key] * PRICES[key].usd, 0);

// What the bench entry answers (bench/worker/entry.ts): its counts per invocation.
const COUNTED = [
	"rowsRead",
	"rowsWritten",
	"flowCalls",
	"sent",
	"delivered",
	"acked",
	"retried",
	"writeOps",
	"readOps",
	"deleteOps",
] as const;
/** Summed counts of some invocations; rateTakes: send_email batches' takes from their rate limit. */
type Totals = Record<(typeof COUNTED)[number] | "invocations" | "rateTakes", number>;
interface Invocation extends Record<string, unknown> {
	label?: string;
	tasks?: Record<string, number>;
	flowByMethod: Record<string, number>;
}
interface FlowWork {
	count: number;
	rowsRead: number;
	rowsWritten: number;
	alarmsSet: number;
	cleared: number;
}
interface FlowStorage {
	calls: FlowWork;
	alarms: FlowWork;
	alarmsByObject: Record<string, number>;
}

const total = (all: Invocation[]): Totals => {
	const sum = Object.fromEntries(COUNTED.map((key) => [key, 0])) as Totals;
	sum.invocations = all.length;
	sum.rateTakes = 0;
	for (const one of all) {
		for (const key of COUNTED) sum[key] += Number(one[key] ?? 0);
		if (one.tasks?.send_email) sum.rateTakes += one.flowByMethod.take ?? 0;
	}
	return sum;
};
const minus = <T extends object>(a: T, b: T): T =>
	Object.fromEntries(Object.entries(a).map(([key, n]) => [key, n - (b[key as keyof T] as number)])) as T;

const COUNT_HEADER = "x-bench-count";
const RELEASE_CRON = "* * * * *";
const RELEASE_TASK = "release_due_tasks";
// Production's batch size (wrangler.toml): the tasks of a case arrive as one or two batches.
const TASKS = 100;
// Finished tasks already in D1 when the cases run, as results kept for a while
// would be; one case also runs before them, to show whether rows read grow with the table.
const HISTORY = 10_000;
// Tasks other consumer invocations are running meanwhile, for one case run beside them.
const RUNNING = 2_000;

async function get<T>(host: Host, route: string): Promise<T> {
	const res = await fetch(new URL(route, host.url), { signal: AbortSignal.timeout(ANSWER_MS) });
	if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
	return (await res.json()) as T;
}

async function waitFor(what: string, done: () => Promise<boolean>, timeoutMs = 30_000) {
	const deadline = Date.now() + timeoutMs;
	while (!(await done())) {
		if (Date.now() > deadline) throw new Error(`billing: timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

/** One enqueue request, counted under `label`; the ids it answers with. */
async function post(host: Host, label: string, route: string, body?: unknown): Promise<string[]> {
	const res = await fetch(new URL(route, host.url), {
		method: "POST",
		headers: {
			authorization: `Bearer ${TOKEN}`,
			[COUNT_HEADER]: label,
			...(body === undefined ? {} : { "content-type": "application/json" }),
		},
		...(body === undefined ? {} : { body: JSON.stringify(body) }),
		signal: AbortSignal.timeout(ANSWER_MS),
	});
	if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
	const answer = (await res.json()) as { task_id?: string; task_ids?: string[] };
	return answer.task_ids ?? (answer.task_id ? [answer.task_id] : []);
}

/** n requests, 8 at a time. */
async function each(n: number, one: (i: number) => Promise<string[]>): Promise<string[]> {
	const ids: string[][] = [];
	for (let i = 0; i < n; i += 8) {
		ids.push(...(await Promise.all(Array.from({ length: Math.min(8, n - i) }, (_, j) => one(i + j + 1)))));
	}
	return ids.flat();
}

interface Case {
	name: string;
	tasks: number;
	/** The enqueue requests. */
	enqueue: Totals;
	/** The consumed batches that ran the tasks. */
	run: Totals;
	/** Release sweeps (their crons and release_due_tasks batches), beyond what an empty sweep costs. */
	release: Totals;
	/** What the FlowControl objects did for the calls (alarms are counted apart). */
	flow: FlowWork;
}

interface Mark {
	calls: number;
	batches: number;
	flow: FlowWork;
}

function measurer(host: Host) {
	let minute = Math.floor(Date.now() / 60_000);
	const mark = async (): Promise<Mark> => ({
		calls: (await get<Invocation[]>(host, "/__bench/calls")).length,
		batches: (await get<Invocation[]>(host, "/__bench/batches")).length,
		flow: (await get<FlowStorage>(host, "/__bench/flow-storage")).calls,
	});
	const since = async (from: Mark) => ({
		calls: (await get<Invocation[]>(host, "/__bench/calls")).slice(from.calls),
		batches: (await get<Invocation[]>(host, "/__bench/batches")).slice(from.batches),
		flow: minus((await get<FlowStorage>(host, "/__bench/flow-storage")).calls, from.flow),
	});
	const decided = (batches: Invocation[]) => batches.every((b) => Number(b.acked) + Number(b.retried) >= Number(b.delivered));
	const succeeded = async (ids: string[]) => {
		const res = await fetch(new URL("/__bench/succeeded", host.url), {
			method: "POST",
			body: JSON.stringify(ids),
			signal: AbortSignal.timeout(ANSWER_MS),
		});
		return ((await res.json()) as { n: number }).n;
	};

	/** Fires the release sweep's cron, for a minute of its own, and waits for its task to be run. */
	async function sweep() {
		const from = await mark();
		const worker = await host.mf.getWorker();
		await worker.scheduled({ cron: RELEASE_CRON, scheduledTime: new Date(++minute * 60_000) });
		await waitFor("the release sweep", async () => {
			const { batches } = await since(from);
			return batches.some((b) => b.tasks?.[RELEASE_TASK]) && decided(batches);
		});
	}

	/** Enqueues a case's tasks, optionally releases them, waits until all ran, and sums what each part asked for. */
	async function measure(
		name: string,
		enqueue: (label: string) => Promise<string[]>,
		release?: (ids: string[]) => Promise<void>,
	) {
		const from = await mark();
		const ids = await enqueue(name);
		if (release) await release(ids);
		await waitFor(`${name}: ${ids.length} tasks run`, async () => (await succeeded(ids)) === ids.length);
		await waitFor(`${name}: every message acked or retried`, async () => decided((await since(from)).batches));
		const { calls, batches, flow } = await since(from);
		const sweeps = (b: Invocation) => Boolean(b.tasks?.[RELEASE_TASK]);
		return {
			name,
			tasks: ids.length,
			enqueue: total(calls.filter((c) => c.label === name)),
			run: total(batches.filter((b) => !sweeps(b))),
			release: total([...calls.filter((c) => c.label?.startsWith("cron")), ...batches.filter(sweeps)]),
			flow,
		};
	}

	return { measure, sweep };
}

const email = (i: number) => ({ email: `user${i}@example.com`, subject: "Bill", body: "What this email costs." });
const users = Array.from({ length: TASKS }, (_, i) => i + 1);

/**
 * Tasks written straight to D1 (not counted): `SUCCESS` ones as the history a
 * production table carries, `STARTED` ones (leased for an hour) as the tasks
 * other consumer invocations are running at the same time.
 */
async function seedTasks(host: Host, prefix: string, n: number, status: "SUCCESS" | "STARTED") {
	const at = Date.now();
	await host.db
		.prepare(
			`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
			INSERT INTO tasks (id, name, payload, status, attempts, created_at, updated_at, started_at, finished_at, lease_expires_at)
			SELECT ?2 || i, 'process_user_data', '{"user_id":1}', ?3, 1, ?4, ?4, ?4, iif(?3 = 'SUCCESS', ?4, NULL), ?4 + 3600000 FROM n`,
		)
		.bind(n, prefix, status, at)
		.run();
}

/** Measures every case on a host of its own, with production's batch size. */
async function measureAll() {
	const host = await startHost("bench/worker/entry.ts", {
		consumer: { maxBatchTimeout: 1, maxBatchSize: TASKS },
		vars: { BENCH_COUNT_D1: "1" },
	});
	try {
		await seedUsers(host, TASKS);
		const { measure, sweep } = measurer(host);
		const user = (label: string, i: number, schedule?: { delay_seconds: number }) =>
			post(host, label, `/process-user/${i}`, schedule);
		const sendEmail = (label: string, i: number) => post(host, label, "/send-email", email(i));
		const fresh = await measure("process_user_data now, before the history", (label) => each(TASKS, (i) => user(label, i)));
		await seedTasks(host, "history-", HISTORY, "SUCCESS");
		// The emails first: their rate limit's alarms come a minute after, while the rest runs.
		const cases: Case[] = [
			await measure("send_email now", (label) => each(TASKS, (i) => sendEmail(label, i))),
			await measure("send_email alone", (label) => sendEmail(label, 1)),
			await measure("send_email bulk", (label) => post(host, label, "/send-emails", { messages: users.map(email) })),
			await measure("process_user_data now", (label) => each(TASKS, (i) => user(label, i))),
			await measure("process_user_data alone", (label) => user(label, 1)),
			await measure("process_user_data bulk", (label) => post(host, label, "/process-users", { user_ids: users })),
			await measure("process_user_data in 1 s", (label) => each(TASKS, (i) => user(label, i, { delay_seconds: 1 }))),
		];
		const idle = await measure("release sweep, nothing due", async () => {
			await sweep();
			return [];
		});
		const far = await measure(
			"process_user_data past 12 h",
			(label) => each(TASKS, (i) => user(label, i, { delay_seconds: MAX_DELAY_SECONDS + 1 })),
			async (ids) => {
				// Twelve hours pass: the tasks fall due now, and the next sweep sends them.
				await host.db
					.prepare("UPDATE tasks SET due_at = ?1 WHERE id IN (SELECT value FROM json_each(?2))")
					.bind(Date.now(), JSON.stringify(ids))
					.run();
				await sweep();
			},
		);
		cases.push({ ...far, release: minus(far.release, idle.release) });
		await seedTasks(host, "running-", RUNNING, "STARTED");
		const busy = await measure(`process_user_data now, ${RUNNING} running elsewhere`, (label) =>
			each(TASKS, (i) => user(label, i)),
		);
		return { fresh, busy, cases, idle, alarms: await rateAlarms(host, cases) };
	} finally {
		await host.dispose();
	}
}

const RATE_OBJECT = "rate\nsend_email";

/**
 * send_email's rate limit ends each window with an alarm on its object, a
 * minute after the batch that took it, which deletes that batch's admissions:
 * waits for those alarms (at most a minute and a bit), then returns how many
 * came per take (each a billed request) and their rows per email admitted.
 */
async function rateAlarms(host: Host, cases: Case[]) {
	const rated = cases.filter((c) => c.run.rateTakes > 0);
	const takes = rated.reduce((n, c) => n + c.run.rateTakes, 0);
	const emails = rated.reduce((n, c) => n + c.tasks, 0);
	const flow = () => get<FlowStorage>(host, "/__bench/flow-storage");
	await waitFor(
		`${takes} rate-limit alarms`,
		async () => ((await flow()).alarmsByObject[RATE_OBJECT] ?? 0) >= takes,
		75_000,
	).catch(() => undefined);
	const { alarms, alarmsByObject } = await flow();
	const fired = alarmsByObject[RATE_OBJECT] ?? 0;
	return {
		takes,
		fired,
		perTake: takes === 0 ? 0 : fired / takes,
		rowsReadPerEmail: emails === 0 ? 0 : alarms.rowsRead / emails,
		rowsWrittenPerEmail: emails === 0 ? 0 : (alarms.rowsWritten + alarms.alarmsSet) / emails,
		work: alarms,
	};
}

type Alarms = Awaited<ReturnType<typeof rateAlarms>>;
const PARTS = ["enqueue", "run", "release"] as const;
const queueOps = (t: Totals) => t.writeOps + t.readOps + t.deleteOps;

function usageOf(c: Case, alarms: Alarms): Usage {
	const per = (f: (t: Totals) => number) => PARTS.reduce((sum, part) => sum + f(c[part]), 0) / c.tasks;
	const alarmsPerTask = (c.run.rateTakes * alarms.perTake) / c.tasks;
	const rated = c.run.rateTakes > 0 ? 1 : 0;
	return {
		workerRequests: per((t) => t.invocations),
		d1RowsRead: per((t) => t.rowsRead),
		d1RowsWritten: per((t) => t.rowsWritten),
		queueOps: per(queueOps),
		doRequests: per((t) => t.flowCalls) + alarmsPerTask,
		doRowsRead: c.flow.rowsRead / c.tasks + rated * alarms.rowsReadPerEmail,
		doRowsWritten: (c.flow.rowsWritten + c.flow.alarmsSet) / c.tasks + rated * alarms.rowsWrittenPerEmail,
	};
}

/** Counters that must agree, each kept on its own side: queue messages sent and delivered, FlowControl calls made and served. */
function checks(c: Case) {
	const sum = (key: keyof Totals) => PARTS.reduce((n, part) => n + c[part][key], 0);
	const delivered = sum("delivered");
	return {
		queue: sum("sent") + sum("retried") === delivered && sum("acked") + sum("retried") === delivered,
		flow: sum("flowCalls") === c.flow.count,
	};
}

const round = (n: number) => Number(n.toFixed(n >= 10 ? 1 : 2));
const MINUTES_A_MONTH = 30 * 24 * 60;

/** A case's parts per task: invocations, D1 rows, queue operations, FlowControl calls. */
const perTask = (c: Case) =>
	Object.fromEntries(
		PARTS.map((part) => {
			const t = c[part];
			const of = (n: number) => round(n / c.tasks);
			return [
				part,
				{
					invocations: of(t.invocations),
					rowsRead: of(t.rowsRead),
					rowsWritten: of(t.rowsWritten),
					queueOps: of(queueOps(t)),
					flowCalls: of(t.flowCalls),
				},
			];
		}),
	) as Record<(typeof PARTS)[number], Record<"invocations" | "rowsRead" | "rowsWritten" | "queueOps" | "flowCalls", number>>;

/** Measures and prices; `rows` are for bench/run.ts's table (measure, value, detail, target). */
export async function billing() {
	const { fresh, busy, cases, idle, alarms } = await measureAll();
	const priced = cases.map((c) => {
		const usage = usageOf(c, alarms);
		return {
			name: c.name,
			tasks: c.tasks,
			perTask: perTask(c),
			usage: Object.fromEntries(Object.entries(usage).map(([k, v]) => [k, round(v)])) as Usage,
			usdPerMillionTasks: round(costPerMillion(usage)),
			checks: checks(c),
		};
	});
	// The release cron runs every minute whatever is due: one sweep's units, and a month of them.
	const sweep: Usage = {
		workerRequests: idle.release.invocations,
		d1RowsRead: idle.release.rowsRead,
		d1RowsWritten: idle.release.rowsWritten,
		queueOps: queueOps(idle.release),
		doRequests: 0,
		doRowsRead: 0,
		doRowsWritten: 0,
	};
	const rowsRead = (c: Case | undefined) => (c ? round((c.enqueue.rowsRead + c.run.rowsRead) / c.tasks) : Number.NaN);
	const report = {
		pricesAsOf: PRICES_AS_OF,
		prices: PRICES,
		cpuNotCounted: CPU_MS,
		tasksPerCase: TASKS,
		finishedTasksInD1: HISTORY,
		cases: priced,
		releaseSweep: { perSweep: sweep, usdPerMonth: round((costPerMillion(sweep) * MINUTES_A_MONTH) / 1e6) },
		rateLimitAlarms: alarms,
		rowsReadPerTask: {
			[fresh.name]: rowsRead(fresh),
			[`after ${HISTORY} finished tasks`]: rowsRead(cases.find((c) => c.name === "process_user_data now")),
			[busy.name]: rowsRead(busy),
		},
	};
	const agree = priced.every((c) => c.checks.queue && c.checks.flow);
	const rows = [
		...priced.map((c) => {
			const parts = (key: "rowsRead" | "rowsWritten") =>
				PARTS.filter((part) => part !== "release" || c.perTask.release.invocations > 0)
					.map((part) => c.perTask[part][key])
					.join(" + ");
			return [
				`bill: ${c.name}`,
				`$${c.usdPerMillionTasks} / M tasks`,
				`D1 rows read ${parts("rowsRead")}, written ${parts("rowsWritten")} (enqueue + run${c.perTask.release.invocations > 0 ? " + release" : ""}); ${c.usage.queueOps} queue ops; ${c.usage.doRequests} DO requests, ${c.usage.doRowsWritten} DO rows written; ${c.usage.workerRequests} Worker requests`,
				"",
			];
		}),
		[
			"bill: release sweep, nothing due",
			`$${report.releaseSweep.usdPerMonth} / month`,
			`each minute: ${sweep.workerRequests} Worker requests, D1 rows ${sweep.d1RowsRead} read, ${sweep.d1RowsWritten} written, ${sweep.queueOps} queue ops`,
			"",
		],
		[
			"bill: counts cross-checked",
			agree ? "agree" : "DISAGREE",
			"queue sent + retried = delivered = acked + retried; FlowControl calls made = served",
			"",
		],
		[
			"bill: D1 rows read per task, as D1 fills",
			`${report.rowsReadPerTask[fresh.name]} with no history`,
			`${Object.values(report.rowsReadPerTask)[1]} after ${HISTORY} finished tasks; ${report.rowsReadPerTask[busy.name]} with ${RUNNING} tasks STARTED elsewhere`,
			"",
		],
	];
	return { report, rows };
}

if (import.meta.main) {
	const { report, rows } = await billing();
	for (const row of rows) console.log(row.filter(Boolean).join("  "));
	console.log(JSON.stringify(report, null, "\t"));
}
