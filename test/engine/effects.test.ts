// task.once records an effect so that no retry repeats it: even one that
// completes after its run timed out, and as soon as its own kind settles,
// not when the slowest kind of the batch does.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import * as z from "zod";
import { limits } from "../../src/engine";
import { concurrencyFor, defineTask } from "../../src/engine/define";
import { recorded, row, type StandInContext, standInEngine } from "./harness";

afterEach(() => vi.restoreAllMocks());

const transport = { send: async (_to: string) => ({ accepted: true }) };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const notify = defineTask({
	name: "notify",
	input: z.object({ to: z.string() }),
	timeoutSeconds: 0.2,
	async run(_ctx: StandInContext, { to }, task) {
		await task.once("notify", () => transport.send(to));
		return `Notified ${to}`;
	},
});

const effectOf = async (taskId: string) =>
	env.DB.prepare("SELECT value FROM task_effects WHERE task_id = ?").bind(taskId).first<{ value: string }>();

describe("an effect that completes after its run timed out", () => {
	it("is recorded, so the retry does not repeat it", async () => {
		const send = vi.spyOn(transport, "send").mockImplementationOnce(async () => {
			await sleep(400); // twice the task's timeout
			return { accepted: true };
		});
		const engine = standInEngine([notify]);
		const envelope = await recorded("notify", { to: "ada@example.com" });

		await engine.deliver([envelope]);
		expect(await row(envelope.id)).toMatchObject({ status: "RETRY", error: "task timed out after 0.2 s" });
		expect(await effectOf(envelope.id)).toMatchObject({ value: JSON.stringify({ accepted: true }) });

		await engine.deliver([envelope], { attempts: 2 });
		expect(await row(envelope.id)).toMatchObject({ status: "SUCCESS", attempts: 2 });
		expect(send).toHaveBeenCalledTimes(1);
	});
});

describe("effects of a batch", () => {
	it("are recorded when their own kind settles, while a slower kind is still running", async () => {
		const seen: (string | undefined)[] = [];
		const quick = await recorded("notify", { to: "ada@example.com" });
		const slow = defineTask({
			name: "crunch",
			input: z.object({}),
			async run(_ctx: StandInContext) {
				await sleep(150);
				seen.push((await effectOf(quick.id))?.value);
				return null;
			},
		});
		const engine = standInEngine([notify, slow]);
		const crunch = await recorded("crunch", {});

		await engine.deliver([quick, crunch]);

		expect(seen).toEqual([JSON.stringify({ accepted: true })]);
		expect(await row(crunch.id)).toMatchObject({ status: "SUCCESS" });
	});
});

describe("a kind's waves", () => {
	it("fit in one consumer invocation: the concurrency rises so that waves x timeout <= the wall-clock limit", () => {
		const email = { concurrency: 6, timeoutSeconds: 60 };
		expect(concurrencyFor(email, 12)).toBe(6);
		expect(concurrencyFor(email, 100)).toBe(7);
		for (const timeoutSeconds of [1, 30, 60, 300, 900]) {
			for (const n of [1, 45, 100]) {
				const task = { concurrency: 6, timeoutSeconds };
				expect(Math.ceil(n / concurrencyFor(task, n)) * timeoutSeconds).toBeLessThanOrEqual(
					Math.max(timeoutSeconds, limits.MAX_CONSUMER_WALL_SECONDS),
				);
			}
		}
	});
});
