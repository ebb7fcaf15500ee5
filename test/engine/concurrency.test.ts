// A batch's tasks of one kind run a bounded number at a time: a Worker keeps
// at most six connections open, so more at once would only queue inside it.
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { defineTask } from "../../src/engine/define";
import { type StandInContext, standInEngine } from "./harness";

const envelope = (name: string, input: unknown) => ({ id: crypto.randomUUID(), name, input });

describe("bounded concurrency", () => {
	it("runs a batch's tasks of one kind `concurrency` at a time (6 by default)", async () => {
		let inFlight = 0;
		let most = 0;
		const slow = defineTask({
			name: "slow_io",
			input: z.object({ i: z.number() }),
			// With a 60 s timeout, 4 waves of 6 fit in a consumer's 900 s: the concurrency stays 6.
			timeoutSeconds: 60,
			async run(_ctx: StandInContext) {
				most = Math.max(most, ++inFlight);
				await new Promise((resolve) => setTimeout(resolve, 5));
				inFlight--;
				return null;
			},
		});
		const deliveries = Array.from({ length: 20 }, (_, i) => ({ body: envelope("slow_io", { i }), enqueuedAt: new Date() }));

		const decisions = await standInEngine([slow]).execute(deliveries);

		expect(decisions.map((d) => d.outcome)).toEqual(Array(20).fill("success"));
		expect(most).toBe(6);
	});
});
