// Flow control: rate limits and debounce, kept by the real FlowControl Durable
// Object (Miniflare's), and concurrency limits, kept by the claim in the real
// D1, across batches decided at once.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import * as z from "zod";
import { defineTask } from "../../src/engine/define";
import type { Decision } from "../../src/engine/execute";
import type { FlowControl } from "../../src/engine/flow/control";
import { failD1When, row, type StandInContext, standInEngine } from "./harness";

afterEach(() => vi.restoreAllMocks());

const delivery = (name: string, input: unknown) => ({
	body: { id: crypto.randomUUID(), name, input },
	enqueuedAt: new Date(),
});
type Delivery = ReturnType<typeof delivery>;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const limiter = (kind: string, task: string) => env.FLOW.get(env.FLOW.idFromName(`${kind}\n${task}`));

/**
 * Delivers `batches` at once, then redelivers each waiting delivery once its
 * delay has passed, as the queue would, until every one is decided otherwise.
 */
async function drain(execute: (d: Delivery[]) => Promise<Decision[]>, batches: Delivery[][]) {
	const seen: Decision[] = [];
	let round = batches;
	for (let i = 0; round.length > 0 && i < 30; i++) {
		const decided = await Promise.all(round.map((batch) => execute(batch)));
		seen.push(...decided.flat());
		const waiting = round.flat().filter((_, j) => decided.flat()[j]?.outcome === "waiting");
		const delays = decided.flat().flatMap((d) => (d.outcome === "waiting" ? [d.delaySeconds] : []));
		if (waiting.length === 0) break;
		await sleep(Math.min(...delays) * 1000);
		round = [waiting];
	}
	return seen;
}

describe("rate limit", () => {
	it("starts at most `limit` runs in any window, across concurrent batches, and uses up no retry", async () => {
		const task = defineTask({
			name: "rated",
			input: z.object({ to: z.string() }),
			rateLimit: { limit: 3, periodSeconds: 1, key: (input) => input.to },
			async run(_ctx: StandInContext) {
				return null;
			},
		});
		const engine = standInEngine([task]);
		const batches = Array.from({ length: 3 }, () => Array.from({ length: 3 }, () => delivery("rated", { to: "a" })));
		// Another key has a window of its own.
		batches.push([delivery("rated", { to: "b" }), delivery("rated", { to: "b" })]);

		const first = await Promise.all(batches.map((b) => engine.execute(b)));
		const waiting = first.flat().filter((d) => d.outcome === "waiting");
		expect(first.flat().filter((d) => d.outcome === "success")).toHaveLength(5);
		expect(waiting).toHaveLength(6);
		const held = waiting[0];
		if (held?.outcome !== "waiting") throw new Error("unreachable");
		expect(held.reason).toBe("rate_limited");
		const waitingRow = await row(held.taskId);
		expect(waitingRow).toMatchObject({ status: "PENDING", waiting: "rate_limited", attempts: 0 });

		await drain(engine.execute, [batches.flat().filter((_, i) => first.flat()[i]?.outcome === "waiting")]);

		const rows = (await Promise.all(batches.flat().map((d) => row(d.body.id)))).flatMap((r) => (r ? [r] : []));
		expect(rows).toHaveLength(11);
		expect(rows.every((r) => r.status === "SUCCESS" && r.attempts === 1 && r.waiting === null)).toBe(true);
		// No window of a second holds more than 3 of key "a"'s starts.
		const starts = rows
			.filter((r) => (r.payload as { to: string }).to === "a")
			.map((r) => r.startedAt?.getTime() ?? 0)
			.sort((x, y) => x - y);
		for (let i = 3; i < starts.length; i++) expect((starts[i] ?? 0) - (starts[i - 3] ?? 0)).toBeGreaterThanOrEqual(1000);
	});

	it("holds runs back when its limiter cannot be reached, and never runs them over the limit", async () => {
		let runs = 0;
		const task = defineTask({
			name: "rated_unreachable",
			input: z.object({}),
			rateLimit: { limit: 100, periodSeconds: 1 },
			async run(_ctx: StandInContext) {
				runs++;
				return null;
			},
		});
		const engine = standInEngine([task]);
		const stub = limiter("rate", "rated_unreachable");
		vi.spyOn(env.FLOW, "get").mockReturnValue(
			Object.assign(Object.create(stub), { take: () => Promise.reject(new Error("object unreachable")) }),
		);
		const [decision] = await engine.execute([delivery("rated_unreachable", {})]);
		expect(decision).toMatchObject({ outcome: "waiting", reason: "limiter_unavailable", delaySeconds: 10 });
		expect(runs).toBe(0);
	});

	it("sends a message that has waited often back as a fresh copy, so waiting never dead-letters it", async () => {
		const task = defineTask({
			name: "rated_resend",
			input: z.object({}),
			rateLimit: { limit: 1, periodSeconds: 60 },
			run: async (_ctx: StandInContext) => null,
		});
		const engine = standInEngine([task]);
		await engine.execute([delivery("rated_resend", {})]);
		const send = vi.spyOn(env.ENGINE_TEST_QUEUE, "sendBatch");
		const body = { id: crypto.randomUUID(), name: "rated_resend", input: {} };

		const { result } = await engine.deliver([body], { attempts: 3 });

		expect(result.explicitAcks).toHaveLength(1);
		expect(send.mock.calls[0]?.[0]).toMatchObject([{ body }]);
	});
});

// A rate place taken for a run that never started (the batch failed before
// its claim) comes back at once, not when its window ends. (A concurrency
// slot is taken by the claim itself, so such a batch holds none.)
describe("a rate place of a run that never started", () => {
	it("is given back when the batch fails before running", async () => {
		const name = `never_started_${crypto.randomUUID().slice(0, 8)}`;
		const task = defineTask({
			name,
			input: z.object({}),
			rateLimit: { limit: 1, periodSeconds: 60 },
			run: async (_ctx: StandInContext) => null,
		});
		const engine = standInEngine([task]);
		const batch = vi.spyOn(env.DB, "batch").mockRejectedValueOnce(new Error("D1_ERROR: Network connection lost."));
		await expect(engine.execute([delivery(name, {})])).rejects.toThrow(/D1_ERROR/);
		batch.mockRestore();
		// At once, within the same minute: the one place is free again.
		const [decision] = await engine.execute([delivery(name, {})]);
		expect(decision?.outcome).toBe("success");
	});
});

// A key function that throws for an input can never place its run: the task
// fails at once, as a poison message does, and holds nothing of the limit.
describe.each([
	{
		kind: "concurrency",
		limits: {
			concurrencyLimit: {
				limit: 1,
				key: (): string => {
					throw new Error("no tenant");
				},
			},
		},
	},
	{
		kind: "rate",
		limits: {
			rateLimit: {
				limit: 1,
				periodSeconds: 60,
				key: (): string => {
					throw new Error("no tenant");
				},
			},
		},
	},
])("a $kind key that cannot be computed", ({ limits }) => {
	it("fails its task with the reason, and the batch's other runs go on", async () => {
		const name = `unkeyable_${crypto.randomUUID().slice(0, 8)}`;
		const task = defineTask({ name, input: z.object({}), ...limits, run: async (_ctx: StandInContext) => null });
		const other = defineTask({ name: `${name}_other`, input: z.object({}), run: async (_ctx: StandInContext) => null });
		const engine = standInEngine([task, other]);
		const broken = delivery(name, {});
		const [decision, fine] = await engine.execute([broken, delivery(`${name}_other`, {})]);
		expect(decision).toMatchObject({ outcome: "rejected", reason: "flow-control key failed: no tenant" });
		expect(fine?.outcome).toBe("success");
		expect(await row(broken.body.id)).toMatchObject({ status: "FAILURE", error: "flow-control key failed: no tenant" });
	});
});

describe("a rate limit's storage", () => {
	const admissions = (stub: DurableObjectStub<FlowControl>) =>
		runInDurableObject(stub, (_instance, state) =>
			state.storage.sql.exec<{ key: string; n: number }>("SELECT key, n FROM admissions ORDER BY key").toArray(),
		);
	const request = (ids: string[], key: string) => ({
		kind: "rate" as const,
		limit: 100,
		periodMs: 60_000,
		runs: ids.map((id) => ({ id, key })),
	});

	it("writes one row per key a call admits for, however many runs, and gives places back by key and start", async () => {
		const stub = limiter("rate", `storage-${crypto.randomUUID()}`) as DurableObjectStub<FlowControl>;
		const ids = Array.from({ length: 38 }, () => crypto.randomUUID());
		const reply = await stub.take(request(ids, "example.com"));
		expect(reply.admitted).toHaveLength(38);
		expect(await admissions(stub)).toEqual([{ key: "example.com", n: 38 }]);

		// Two runs that never started give their places back; the window counts 36.
		const at = reply.admitted[0]?.at ?? 0;
		const unrun = ids.slice(0, 2);
		await stub.give({ kind: "rate", places: unrun.map(() => ({ key: "example.com", at })) });
		expect(await admissions(stub)).toEqual([{ key: "example.com", n: 36 }]);
		// A key whose every place comes back leaves no row.
		const lone = await stub.take(request([crypto.randomUUID()], "lone.example"));
		await stub.give({ kind: "rate", places: lone.admitted.map((a) => ({ key: "lone.example", at: a.at })) });
		expect(await admissions(stub)).toEqual([{ key: "example.com", n: 36 }]);
		const full = await stub.take({
			...request(
				Array.from({ length: 70 }, () => crypto.randomUUID()),
				"example.com",
			),
		});
		expect(full.admitted).toHaveLength(64);
		expect(full.waiting).toHaveLength(6);
	});

	it("carries an object's per-run rows from before over as counts", async () => {
		const stub = limiter("rate", `legacy-${crypto.randomUUID()}`) as DurableObjectStub<FlowControl>;
		const now = Date.now();
		await runInDurableObject(stub, (_instance, state) => {
			state.storage.sql.exec("CREATE TABLE admitted (key TEXT NOT NULL, task_id TEXT NOT NULL, at INTEGER NOT NULL)");
			for (const key of ["a", "a", "a", "b"]) {
				state.storage.sql.exec("INSERT INTO admitted (key, task_id, at) VALUES (?, ?, ?)", key, crypto.randomUUID(), now);
			}
			// As the object starts on code that keeps counts.
			new (_instance.constructor as new (ctx: DurableObjectState, env: unknown) => FlowControl)(state, env);
		});
		expect(await admissions(stub)).toEqual([
			{ key: "a", n: 3 },
			{ key: "b", n: 1 },
		]);
		const tables = await runInDurableObject(stub, (_instance, state) =>
			state.storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'admitted'").toArray(),
		);
		expect(tables).toEqual([]);
		// The carried-over starts count against the window.
		const reply = await stub.take({
			kind: "rate",
			limit: 4,
			periodMs: 60_000,
			runs: [
				{ id: "x", key: "a" },
				{ id: "y", key: "a" },
			],
		});
		expect(reply.admitted.map((a) => a.id)).toEqual(["x"]);
	});
});

/** A task that runs `limit` at a time per user, and does nothing. */
const exclusive = (name: string, limit = 1) =>
	defineTask({
		name,
		input: z.object({ user: z.string() }),
		concurrencyLimit: { limit, key: (input) => input.user },
		run: async (_ctx: StandInContext) => null,
	});

describe("concurrency limit", () => {
	it("never runs more than `limit` with one key at once, across concurrent batches", async () => {
		const running = new Map<string, number>();
		const most = new Map<string, number>();
		const task = defineTask({
			name: "exclusive",
			input: z.object({ user: z.string() }),
			concurrencyLimit: { limit: 2, key: (input) => input.user },
			async run(_ctx: StandInContext, { user }) {
				running.set(user, (running.get(user) ?? 0) + 1);
				most.set(user, Math.max(most.get(user) ?? 0, running.get(user) ?? 0));
				await sleep(30);
				running.set(user, (running.get(user) ?? 0) - 1);
				return null;
			},
		});
		const engine = standInEngine([task]);
		const batches = Array.from({ length: 3 }, () => [
			...Array.from({ length: 3 }, () => delivery("exclusive", { user: "ada" })),
			delivery("exclusive", { user: "bob" }),
		]);

		const decisions = await drain(engine.execute, batches);

		expect(
			decisions
				.filter((d) => d.outcome === "waiting")
				.every((d) => d.outcome === "waiting" && d.reason === "concurrency_limited"),
		).toBe(true);
		expect(decisions.filter((d) => d.outcome === "success")).toHaveLength(12);
		expect(most.get("ada")).toBe(2);
		expect(most.get("bob")).toBe(2);
	});

	it("counts a run as holding its slot while STARTED with a live lease, and a dead run's slot ends with its lease", async () => {
		const task = exclusive("exclusive_crash");
		const engine = standInEngine([task]);
		// A consumer claimed a run of ada's and died: its row stays STARTED until its lease ends.
		await env.DB.prepare(
			`INSERT INTO tasks (id, name, payload, status, attempts, created_at, updated_at, started_at, lease_expires_at, flow_key)
			VALUES (?1, 'exclusive_crash', '{"user":"ada"}', 'STARTED', 1, ?2, ?2, ?2, ?3, 'ada')`,
		)
			.bind(crypto.randomUUID(), Date.now(), Date.now() + 800)
			.run();

		const [held, other] = await engine.execute([
			delivery("exclusive_crash", { user: "ada" }),
			delivery("exclusive_crash", { user: "bob" }),
		]);
		expect(held).toMatchObject({ outcome: "waiting", reason: "concurrency_limited", delaySeconds: 1 });
		expect(other?.outcome).toBe("success");
		if (held?.outcome !== "waiting") throw new Error("unreachable");
		// The held run's row says why it waits, and it used up no attempt.
		expect(await row(held.taskId)).toMatchObject({ status: "PENDING", waiting: "concurrency_limited", attempts: 0 });

		await sleep(900);
		const [after] = await engine.execute([delivery("exclusive_crash", { user: "ada" })]);
		expect(after?.outcome).toBe("success");
	});

	it("ranks a batch's runs of one key: the first `limit` take the free slots, the rest wait their turn", async () => {
		const task = exclusive("exclusive_ranked", 2);
		const engine = standInEngine([task]);
		const decisions = await engine.execute(Array.from({ length: 5 }, () => delivery("exclusive_ranked", { user: "ada" })));
		expect(decisions.map((d) => d.outcome)).toEqual(["success", "success", "waiting", "waiting", "waiting"]);
		// Waiters come back in turn, two a second, never later than the first slot frees.
		expect(decisions.map((d) => (d.outcome === "waiting" ? d.delaySeconds : 0))).toEqual([0, 0, 1, 1, 2]);
	});

	it("reads a key's slots from the partial index of running limited tasks", async () => {
		const sent: string[] = [];
		const prepare = env.DB.prepare.bind(env.DB);
		vi.spyOn(env.DB, "prepare").mockImplementation((sql: string) => {
			sent.push(sql);
			return prepare(sql);
		});
		const task = exclusive("exclusive_plan");
		await standInEngine([task]).execute([delivery("exclusive_plan", { user: "ada" })]);
		vi.restoreAllMocks();
		const claim = sent.find((sql) => sql.includes("AS holder"));
		if (!claim) throw new Error("no claim counted slots");
		const list = JSON.stringify([{ id: "x", name: "exclusive_plan", payload: "{}", flow_key: "ada", limit: 1, rank: 1 }]);
		const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${claim}`).bind(list, Date.now(), "token").all<{ detail: string }>();
		expect(plan.results.map((r) => r.detail).join("; ")).toMatch(/SEARCH holder USING COVERING INDEX tasks_slots_idx/);
	});
});

describe("a rate limiter's alarm", () => {
	it("is written only when none is set as early, and none is set after one that finds nothing", async () => {
		const stub = limiter("rate", `alarm-${crypto.randomUUID()}`) as DurableObjectStub<FlowControl>;
		const alarm = () => runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
		const take = (id: string, periodMs: number) => stub.take({ kind: "rate", limit: 5, periodMs, runs: [{ id, key: "k" }] });

		// Every alarm write the object makes, counted on its own storage.
		let writes = 0;
		await runInDurableObject(stub, (_instance, state) => {
			const { storage } = state;
			const setAlarm = storage.setAlarm.bind(storage);
			const deleteAlarm = storage.deleteAlarm.bind(storage);
			storage.setAlarm = (...args) => {
				writes++;
				return setAlarm(...args);
			};
			storage.deleteAlarm = (...args) => {
				writes++;
				return deleteAlarm(...args);
			};
		});

		const a = await take("a", 60_000);
		const first = await alarm();
		expect(first).toEqual(expect.any(Number));
		// A later start leaves the earlier alarm as it is; giving places back leaves it too.
		await sleep(5);
		const b = await take("b", 60_000);
		await stub.give({
			kind: "rate",
			places: [...a.admitted, ...b.admitted].map((place) => ({ key: "k", at: place.at })),
		});
		expect(await alarm()).toBe(first);
		expect(writes).toBe(1);

		// When it fires there is nothing left: no rows, and no alarm after it.
		await runDurableObjectAlarm(stub);
		expect(await alarm()).toBeNull();
		const left = await runInDurableObject(
			stub,
			(_instance, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM admissions").one().n,
		);
		expect(left).toBe(0);
	});
});

describe("a batch whose machinery fails in one kind", () => {
	it("keeps its concurrency slots until its other kinds' runs have settled, then gives them back", async () => {
		// One kind's run times out with an effect still under way; holding its
		// lease longer is a D1 write, and that write fails: the batch fails.
		const stuck = defineTask({
			name: "stuck_effect",
			input: z.object({}),
			timeoutSeconds: 0.2,
			async run(_ctx: StandInContext, _input, task) {
				await task.once("slow", async () => {
					await sleep(600);
					return null;
				});
				return null;
			},
		});
		const running: string[] = [];
		let most = 0;
		const exclusive = defineTask({
			name: "exclusive_beside",
			input: z.object({ n: z.number() }),
			concurrencyLimit: { limit: 1 },
			async run(_ctx: StandInContext, { n }) {
				running.push(String(n));
				most = Math.max(most, running.length);
				await sleep(1_000);
				running.splice(running.indexOf(String(n)), 1);
				return null;
			},
		});
		const engine = standInEngine([stuck, exclusive]);
		failD1When((sql) => sql.includes("SET lease_expires_at = ?2"));

		const failing = engine.execute([delivery("stuck_effect", {}), delivery("exclusive_beside", { n: 1 })]);
		const failed = expect(failing).rejects.toThrow(/D1_ERROR/);
		// The failing kind has given up by now; the slot's run is still running.
		await sleep(500);
		const [second] = await engine.execute([delivery("exclusive_beside", { n: 2 })]);
		expect(second).toMatchObject({ outcome: "waiting", reason: "concurrency_limited" });
		await failed;
		expect(most).toBe(1);

		// Once the batch is over, its slot is free, though its run's outcome went
		// unrecorded: that task's own redelivery still waits out its lease.
		const [third] = await engine.execute([delivery("exclusive_beside", { n: 3 })]);
		expect(third?.outcome).toBe("success");
	});
});

describe("a batch whose abandoned task cannot be failed", () => {
	it("keeps its runs' slots until they are over", async () => {
		const running: number[] = [];
		let most = 0;
		const slow = defineTask({
			name: "exclusive_slow",
			input: z.object({ n: z.number(), user: z.string() }),
			retry: { maxRetries: 0 },
			concurrencyLimit: { limit: 1, key: (input) => input.user },
			async run(_ctx: StandInContext, { n }) {
				running.push(n);
				most = Math.max(most, running.length);
				await sleep(600);
				running.splice(running.indexOf(n), 1);
				return null;
			},
		});
		const engine = standInEngine([slow]);
		// A run of it whose consumer died on its only attempt, its lease over: this batch fails it.
		const dead = delivery("exclusive_slow", { n: 0, user: "bob" });
		await env.DB.prepare(
			`INSERT INTO tasks (id, name, payload, status, attempts, created_at, updated_at, started_at, lease_expires_at)
			VALUES (?1, 'exclusive_slow', '{"n":0,"user":"bob"}', 'STARTED', 1, ?2, ?2, ?2, ?2)`,
		)
			.bind(dead.body.id, Date.now() - 1000)
			.run();
		// ...and the write that fails it fails.
		failD1When((sql) => sql.includes("'FAILURE', value->>'created_at'"));

		const failing = engine.execute([dead, delivery("exclusive_slow", { n: 1, user: "ada" })]);
		const failed = expect(failing).rejects.toThrow(/D1_ERROR/);
		await sleep(200);
		vi.restoreAllMocks();
		// The failure came back long before the run is over: its slot is still held.
		const [second] = await engine.execute([delivery("exclusive_slow", { n: 2, user: "ada" })]);
		expect(second).toMatchObject({ outcome: "waiting", reason: "concurrency_limited" });
		await failed;
		expect(most).toBe(1);
	});
});

describe("debounce", () => {
	it("runs once, the last input, after the window; the earlier tasks end REVOKED naming it", async () => {
		const ran: unknown[] = [];
		const task = defineTask({
			name: "summary",
			input: z.object({ team: z.string(), n: z.number() }),
			debounce: { seconds: 2, key: (input) => input.team },
			async run(_ctx: StandInContext, input) {
				ran.push(input);
				return null;
			},
		});
		const engine = standInEngine([task]);
		const send = vi.spyOn(env.ENGINE_TEST_QUEUE, "send");
		const client = engine.client();
		const first = await client.enqueue(task, { team: "red", n: 1 });
		const second = await client.enqueue(task, { team: "red", n: 2 });
		const other = await client.enqueue(task, { team: "blue", n: 1 });
		const last = await client.enqueue(task, { team: "red", n: 3 });

		// Each names the task that replaced it.
		expect(await row(first.id)).toMatchObject({ status: "REVOKED", error: `debounced: replaced by ${second.id}` });
		expect(await row(second.id)).toMatchObject({ status: "REVOKED", error: `debounced: replaced by ${last.id}` });
		expect(await row(last.id)).toMatchObject({ status: "PENDING" });
		expect(await row(other.id)).toMatchObject({ status: "PENDING" });
		// Each message waits out the window.
		expect(send.mock.calls.map((call) => call[1]?.delaySeconds)).toEqual([2, 2, 2, 2]);

		// The queue delivers all four; the revoked ones are acked unrun.
		const decisions = await engine.execute(send.mock.calls.map((call) => ({ body: call[0], enqueuedAt: new Date() })));
		expect(decisions.map((d) => d.outcome)).toEqual(["skipped", "skipped", "success", "success"]);
		expect(ran).toEqual([
			{ team: "blue", n: 1 },
			{ team: "red", n: 3 },
		]);
	});

	it("refuses the enqueue, writing nothing that runs, when its limiter cannot be reached", async () => {
		const task = defineTask({
			name: "summary_unreachable",
			input: z.object({}),
			debounce: { seconds: 5 },
			run: async (_ctx: StandInContext) => null,
		});
		const engine = standInEngine([task]);
		const send = vi.spyOn(env.ENGINE_TEST_QUEUE, "send");
		vi.spyOn(env.FLOW, "get").mockImplementation(() => {
			throw new Error("object unreachable");
		});
		await expect(engine.client().enqueue(task, {})).rejects.toThrow(/debounce limiter is unavailable/);
		expect(send).not.toHaveBeenCalled();
	});
});
