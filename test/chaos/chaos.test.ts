// The seeded chaos run (test/chaos/simulate.ts): in `npm test`, a short run
// over a few seeds; `npm run chaos` runs the full one (10,000 tasks) and
// writes its figures. Every violation fails the test, with the seed and the
// faults that struck, so it replays.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { simulate } from "./simulate";

afterEach(() => vi.restoreAllMocks());

const bindings = env as unknown as Record<string, string | undefined>;
const TASKS = Number(bindings.CHAOS_TASKS ?? 1000);
const SEEDS = (bindings.CHAOS_SEEDS ?? "1,2").split(",").map(Number);

describe("chaos", () => {
	// About 5 ms a task on this machine; the bound leaves room for a slower one.
	const timeout = 60_000 + TASKS * 50;
	it.each(SEEDS)(`seed %i: ${TASKS} tasks under every fault, and every invariant holds`, { timeout }, async (seed) => {
		const report = await simulate({ seed, tasks: TASKS });
		console.log(`CHAOS-REPORT ${JSON.stringify({ ...report, faultLog: undefined })}`);
		if (report.violations.length > 0) console.log(`CHAOS-FAULTS seed ${seed}: ${report.faultLog.join("; ")}`);
		expect(report.violations).toEqual([]);
		expect(report.lost).toBe(0);
		// The workload reached what it is meant to: workflows, outbox and far-off tasks.
		expect(report.workflows).toBeGreaterThan(0);
		expect(report.released).toBeGreaterThan(0);
	});
});
