// Transient failures retry with backoff; permanent ones and exhausted retries fail.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import * as z from "zod";
import { backoffSeconds, defineTask, PermanentError, RetryLater } from "../../src/engine/define";
import type { Envelope } from "../../src/engine/envelope";
import { recorded, row, type StandInContext, standInEngine } from "./harness";

afterEach(() => vi.restoreAllMocks());

// A stand-in for a task with a side effect that must not repeat (an email):
// each run hands the message to `transport`, once per task (task.once).
const transport = { send: async (_to: string) => ({ accepted: true }) };
const notify = defineTask({
	name: "notify",
	input: z.object({ to: z.string() }),
	retry: { maxRetries: 5, baseDelaySeconds: 5, maxDelaySeconds: 300 },
	timeoutSeconds: 60,
	async run(_ctx: StandInContext, { to }, task) {
		await task.once("notify", () => transport.send(to));
		return `Notified ${to}`;
	},
});

const flaky = defineTask({
	name: "flaky",
	input: z.object({ mode: z.enum(["permanent", "later"]) }),
	retry: { maxRetries: 3 },
	async run(_ctx: StandInContext, { mode }) {
		if (mode === "permanent") throw new PermanentError("card declined");
		throw new RetryLater("rate limited by upstream", 42);
	},
});

const slow = defineTask({
	name: "slow",
	input: z.object({}),
	timeoutSeconds: 0.05,
	run: (_ctx: StandInContext) => new Promise<null>((resolve) => setTimeout(() => resolve(null), 1000)),
});

const engine = standInEngine([notify, flaky, slow]);
const deliver = engine.deliver;

/** One delivery, decided as the consumer would, with the task's row after it. */
async function executeOne(envelope: Envelope) {
	const [decision] = await engine.execute([{ body: envelope, enqueuedAt: new Date() }]);
	return { ...decision, task: await row(envelope.id) };
}

const email = { to: "ada@example.com" };
const handedToBinding = (spy: { mock: { settledResults: { type: string }[] } }) =>
	spy.mock.settledResults.filter((r) => r.type === "fulfilled").length;

describe("backoff", () => {
	const policy = { maxRetries: 5, baseDelaySeconds: 5, maxDelaySeconds: 60 };

	it("draws from [0, min(max, base * 2^(n-1))]: full jitter", () => {
		expect([1, 2, 3, 4, 5].map((n) => backoffSeconds(policy, n, () => 0.999_999))).toEqual([5, 10, 20, 40, 60]);
		expect(backoffSeconds(policy, 3, () => 0)).toBe(0);
		for (let i = 0; i < 100; i++) {
			const delay = backoffSeconds(policy, 4);
			expect(delay).toBeGreaterThanOrEqual(0);
			expect(delay).toBeLessThanOrEqual(40);
		}
	});

	it("rejects a policy Queues cannot honour", () => {
		const run = async () => null;
		expect(() => defineTask({ name: "x", input: z.object({}), retry: { maxDelaySeconds: 50_000 }, run })).toThrow(/retry policy/);
		expect(() => defineTask({ name: "x", input: z.object({}), timeoutSeconds: 3600, run })).toThrow(/timeoutSeconds/);
	});
});

describe("retries", () => {
	it("a transport that fails twice, then works: SUCCESS after 3 attempts, one send", async () => {
		const send = vi
			.spyOn(transport, "send")
			.mockRejectedValueOnce(new Error("upstream timeout"))
			.mockRejectedValueOnce(new Error("upstream timeout"));
		const envelope = await recorded("notify", email);

		for (const attempts of [1, 2]) {
			const { result } = await deliver([envelope], { attempts });
			expect(result.retryMessages).toHaveLength(1);
			expect(await row(envelope.id)).toMatchObject({
				status: "RETRY",
				attempts,
				error: "upstream timeout",
			});
		}
		const { result } = await deliver([envelope], { attempts: 3 });

		expect(result.explicitAcks).toHaveLength(1);
		expect(await row(envelope.id)).toMatchObject({
			status: "SUCCESS",
			attempts: 3,
			error: null,
			result: "Notified ada@example.com",
		});
		expect(send).toHaveBeenCalledTimes(3);
		expect(handedToBinding(send)).toBe(1);
	});

	it("a transport that always fails: RETRY with growing delays, then FAILURE with the last error", async () => {
		vi.spyOn(Math, "random").mockReturnValue(0.999_999);
		let failures = 0;
		vi.spyOn(transport, "send").mockImplementation(async () => {
			throw new Error(`upstream timeout #${++failures}`);
		});
		const envelope = await recorded("notify", email);

		const delays: (number | undefined)[] = [];
		for (let attempts = 1; attempts <= 5; attempts++) {
			const { retried } = await deliver([envelope], { attempts });
			delays.push(retried[0]?.delaySeconds);
			const task = await row(envelope.id);
			expect(task).toMatchObject({ status: "RETRY", attempts });
			expect(task?.nextAttemptAt?.getTime()).toBeGreaterThan(Date.now());
		}
		// notify: base 5 s, doubling, capped at 300 s.
		expect(delays).toEqual([5, 10, 20, 40, 80]);

		const { result } = await deliver([envelope], { attempts: 6 });
		expect(result.explicitAcks).toHaveLength(1);
		expect(result.retryMessages).toEqual([]);
		expect(await row(envelope.id)).toMatchObject({
			status: "FAILURE",
			attempts: 6,
			error: "upstream timeout #6",
		});
	});

	it("a PermanentError fails at once, without a retry", async () => {
		const envelope = await recorded("flaky", { mode: "permanent" });
		const delivery = await executeOne(envelope);
		expect(delivery).toMatchObject({
			outcome: "failure",
			ack: true,
			task: { status: "FAILURE", error: "card declined", attempts: 1 },
		});
	});

	it("RetryLater sets the delay itself", async () => {
		const envelope = await recorded("flaky", { mode: "later" });
		const delivery = await executeOne(envelope);
		expect(delivery).toMatchObject({ outcome: "retry", ack: false, delaySeconds: 42, task: { status: "RETRY" } });
	});

	it("a run that outlives its timeout counts as a failed attempt", async () => {
		const envelope = await recorded("slow", {});
		const delivery = await executeOne(envelope);
		expect(delivery).toMatchObject({ outcome: "retry", task: { status: "RETRY", error: "task timed out after 0.05 s" } });
	});
});

describe("a run whose consumer died", () => {
	const expire = (id: string, attempts: number) =>
		env.DB.prepare("UPDATE tasks SET status = 'STARTED', attempts = ?, lease_expires_at = ? WHERE id = ?")
			.bind(attempts, Date.now() - 1000, id)
			.run();

	it("is run again once its lease has ended, as a new attempt", async () => {
		const envelope = await recorded("flaky", { mode: "permanent" });
		await expire(envelope.id, 2);
		expect(await executeOne(envelope)).toMatchObject({ outcome: "failure", task: { status: "FAILURE", attempts: 3 } });
	});

	it("on its task's last attempt is abandoned, not run once more than its retries allow", async () => {
		// A run would fail with flaky's own error ("rate limited by upstream").
		const envelope = await recorded("flaky", { mode: "later" });
		// maxRetries 3: four attempts in all, and the fourth's consumer died.
		await expire(envelope.id, 4);

		const delivery = await executeOne(envelope);

		expect(delivery).toMatchObject({
			outcome: "failure",
			task: { status: "FAILURE", attempts: 4, error: "abandoned: the lease expired after 4 attempt(s)" },
		});
	});
});

describe("dead letters", () => {
	const DLQ = env.TASKS_DEAD_LETTER_QUEUE;
	it("marks an unfinished task FAILURE with reason dead-lettered", async () => {
		const envelope = await recorded("notify", email);
		await env.DB.prepare("UPDATE tasks SET status = 'RETRY', attempts = 3 WHERE id = ?").bind(envelope.id).run();

		const { result } = await deliver([envelope], { queue: DLQ });

		expect(result.explicitAcks).toHaveLength(1);
		expect(await row(envelope.id)).toMatchObject({
			status: "FAILURE",
			error: "dead-lettered",
			attempts: 3,
		});
	});

	it("leaves a task a run holds a live lease on to that run; an expired lease is failed", async () => {
		const running = await recorded("notify", email);
		const abandoned = await recorded("notify", email);
		await env.DB.prepare("UPDATE tasks SET status = 'STARTED', attempts = 1, lease_expires_at = ? WHERE id = ?")
			.bind(Date.now() + 60_000, running.id)
			.run();
		await env.DB.prepare("UPDATE tasks SET status = 'STARTED', attempts = 1, lease_expires_at = ? WHERE id = ?")
			.bind(Date.now() - 1000, abandoned.id)
			.run();

		const { result } = await deliver([running, abandoned], { queue: DLQ });

		expect(result.explicitAcks).toHaveLength(2);
		expect(await row(running.id)).toMatchObject({ status: "STARTED", error: null });
		expect(await row(abandoned.id)).toMatchObject({ status: "FAILURE", error: "dead-lettered" });
	});

	it("leaves a task that already finished as it is", async () => {
		const send = vi.spyOn(transport, "send");
		const envelope = await recorded("notify", email);
		await deliver([envelope]);
		await deliver([envelope], { queue: DLQ });

		expect(await row(envelope.id)).toMatchObject({ status: "SUCCESS" });
		expect(send).toHaveBeenCalledTimes(1);
	});

	it("acks a dead letter that is not an envelope", async () => {
		const { result } = await deliver(["garbage"], { queue: DLQ });
		expect(result.explicitAcks).toHaveLength(1);
	});
});
