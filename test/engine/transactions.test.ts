// Transactional tasks (src/engine/transaction.ts): the claim, the work and the
// outcome commit together or not at all, so work that must not be done twice
// (a ledger row per run) is done once whatever the platform redelivers; a
// statement that fails is recorded as its own run's error and retried.
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { countingD1, type D1Counts } from "../../bench/worker/d1-counter";
import { createEngineDb } from "../../src/engine/db";
import { booked, bookTask, createLedger, row, standInEngine } from "./harness";

afterEach(() => vi.restoreAllMocks());
beforeAll(createLedger);

const booking = (name: string, account: string, cents: number) => ({ id: crypto.randomUUID(), name, input: { account, cents } });

/**
 * Makes the next `n` D1 batches fail in D1 itself, once all of their
 * statements have run (as a commit that fails would): D1 rolls each back whole.
 */
function failNextBatches(n: number) {
	const real = env.DB.batch.bind(env.DB);
	let left = n;
	return vi
		.spyOn(env.DB, "batch")
		.mockImplementation((statements) =>
			real(left-- > 0 ? [...statements, env.DB.prepare("SELECT * FROM no_such_table")] : statements),
		);
}

describe("a transactional task", () => {
	it("writes the claim, its work and its outcome in one D1 round trip, its result computed by SQL", async () => {
		const engine = standInEngine([bookTask()]);
		const account = crypto.randomUUID();
		const runs = [booking("book", account, 100), booking("book", `${account}-b`, 250)];
		const batch = vi.spyOn(env.DB, "batch");

		const { result } = await engine.deliver(runs);

		expect(result.explicitAcks).toHaveLength(2);
		expect(batch).toHaveBeenCalledTimes(1);
		expect(await booked(runs.map((r) => r.id))).toHaveLength(2);
		expect(await row(runs[0]?.id ?? "")).toMatchObject({
			status: "SUCCESS",
			attempts: 1,
			result: { account, balance: 100 },
			leaseExpiresAt: null,
			error: null,
		});
		expect((await row(runs[1]?.id ?? ""))?.finishedAt).toBeInstanceOf(Date);
	});

	it("books nothing more when a finished run is delivered again", async () => {
		const engine = standInEngine([bookTask()]);
		const run = booking("book", crypto.randomUUID(), 100);
		await engine.deliver([run]);

		const again = await engine.deliver([run], { attempts: 2 });

		expect(again.result.explicitAcks).toHaveLength(1);
		expect(await booked([run.id])).toHaveLength(1);
		expect(await row(run.id)).toMatchObject({ status: "SUCCESS", attempts: 1 });
	});

	it("leaves nothing, not even the claim, when its batch fails: the message is retried", async () => {
		const engine = standInEngine([bookTask()]);
		const run = booking("book", crypto.randomUUID(), 100);
		// The batch with the work, and the claim made again without it.
		const batch = failNextBatches(2);

		const { retried } = await engine.deliver([run]);

		expect(batch).toHaveBeenCalledTimes(2);
		expect(retried).toHaveLength(1);
		expect(await booked([run.id])).toEqual([]);
		expect(await row(run.id)).toBeUndefined();
	});

	it("keeps none of the work of a batch that failed; claimed again without it, the work is done once", async () => {
		const engine = standInEngine([bookTask()]);
		const runs = [booking("book", crypto.randomUUID(), 100), booking("book", crypto.randomUUID(), 5)];
		const batch = failNextBatches(1);

		const { result } = await engine.deliver(runs);

		expect(result.explicitAcks).toHaveLength(2);
		// The batch that failed once every statement had run, the claim alone, the work on its own, the outcomes.
		expect(batch).toHaveBeenCalledTimes(4);
		expect(await booked(runs.map((r) => r.id))).toHaveLength(2);
		expect(await row(runs[1]?.id ?? "")).toMatchObject({ status: "SUCCESS", attempts: 1, result: { balance: 5 } });
	});

	it("fails the run whose statement fails, alone: recorded as its error and retried with backoff", async () => {
		const engine = standInEngine([bookTask()]);
		const good = booking("book", crypto.randomUUID(), 100);
		const bad = booking("book", crypto.randomUUID(), -5);

		const { result, retried } = await engine.deliver([good, bad]);

		expect(result.explicitAcks).toHaveLength(1);
		expect(retried).toEqual([{ id: expect.any(String), delaySeconds: expect.any(Number) }]);
		expect(await row(good.id)).toMatchObject({ status: "SUCCESS", result: { balance: 100 } });
		expect(await row(bad.id)).toMatchObject({
			status: "RETRY",
			attempts: 1,
			error: expect.stringContaining("CHECK constraint failed"),
		});
		expect(await booked([good.id, bad.id])).toEqual([expect.objectContaining({ task_id: good.id })]);
	});

	it("holds a second run of a key back under its concurrency limit", async () => {
		const engine = standInEngine([bookTask()]);
		const account = crypto.randomUUID();
		const [first, second] = [booking("book", account, 100), booking("book", account, 200)];

		const decisions = await engine.execute([first, second].map((body) => ({ body, enqueuedAt: new Date() })));

		expect(decisions.map((d) => d.outcome)).toEqual(["success", "waiting"]);
		expect(await booked([first.id, second.id])).toEqual([expect.objectContaining({ task_id: first.id })]);
		expect(await row(second.id)).toMatchObject({ status: "PENDING", waiting: "concurrency_limited" });
	});

	it("written for another binding, runs its work in a transaction of its own there", async () => {
		const counts: D1Counts = { roundTrips: 0, statements: 0 };
		const elsewhere = createEngineDb(countingD1(env.DB, counts));
		const engine = standInEngine([bookTask("book_elsewhere", () => elsewhere)]);
		const run = booking("book_elsewhere", crypto.randomUUID(), 100);
		const batch = vi.spyOn(env.DB, "batch");

		await engine.deliver([run]);

		expect(counts).toMatchObject({ roundTrips: 1, statements: 2 });
		// The claim, the work (through the other binding, which wraps the same database) and the outcome.
		expect(batch).toHaveBeenCalledTimes(3);
		expect(await row(run.id)).toMatchObject({ status: "SUCCESS", result: { balance: 100 } });
		expect(await booked([run.id])).toHaveLength(1);
	});
});
