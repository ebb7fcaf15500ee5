// The consumer's statements touch tasks by id, whatever else they test: each
// finds its rows through the primary key, never through the status or name
// index, whose ranges grow with the table (every REVOKED task, every STARTED
// one) and would make a batch's cost grow with them. Pinned on the statements
// the engine really sends while it decides a batch of every outcome.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import * as z from "zod";
import { defineTask, PermanentError } from "../../src/engine/define";
import { giveBack } from "../../src/engine/store/release";
import { extendLeases } from "../../src/engine/store/tasks";
import { bookTask, createLedger, engineDb, recorded, type StandInContext, standInEngine } from "./harness";

afterEach(() => vi.restoreAllMocks());

const outcomes = defineTask({
	name: "every_outcome",
	input: z.object({ to: z.enum(["SUCCESS", "RETRY", "FAILURE"]) }),
	timeoutSeconds: 5,
	async run(_ctx: StandInContext, { to }, task) {
		await task.once("effect", async () => to);
		if (to === "RETRY") throw new Error("try again");
		if (to === "FAILURE") throw new PermanentError("no");
		return to;
	},
});

/** SQLite's plan for one statement (parameters bound to null: the plan does not depend on them). */
async function planOf(sql: string): Promise<string[]> {
	// Numbered (?1, as the engine writes them) or not (?, as drizzle renders them).
	const params = new Set(sql.match(/\?\d+/g)).size + (sql.match(/\?(?!\d)/g) ?? []).length;
	const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
		.bind(...Array.from({ length: params }, () => null))
		.all<{ detail: string }>();
	return plan.results.map((row) => row.detail);
}

describe("a batch's statements", () => {
	it("find tasks by id, through the primary key", async () => {
		await createLedger();
		const engine = standInEngine([outcomes, bookTask()]);
		const envelopes = [
			// A transactional task: its work and outcome in the claim's batch.
			{ id: crypto.randomUUID(), name: "book", input: { account: "plans", cents: 1 } },
			await recorded("every_outcome", { to: "SUCCESS" }),
			await recorded("every_outcome", { to: "RETRY" }),
			await recorded("every_outcome", { to: "FAILURE" }),
			// Never recorded: the claim inserts its row.
			{ id: crypto.randomUUID(), name: "every_outcome", input: { to: "SUCCESS" } },
		];
		const prepare = vi.spyOn(env.DB, "prepare");
		await engine.deliver(envelopes);
		// Statements of rarer paths: a lease held for an effect under way, messages the queue refused.
		const ids = envelopes.map((e) => e.id);
		await extendLeases(engineDb(), [{ id: ids[1] ?? "", attempt: 1 }], new Date(Date.now() + 60_000), new Date());
		await giveBack(engineDb(), ids);
		const sent = [...new Set(prepare.mock.calls.map(([sql]) => sql))].filter((sql) => /\btasks\b/.test(sql));
		prepare.mockRestore();
		expect(sent.length).toBeGreaterThanOrEqual(8);

		const offending: { sql: string; step: string }[] = [];
		for (const sql of sent) {
			for (const step of await planOf(sql)) {
				if (/\btasks\b/.test(step) && !/\(id=\?\)/.test(step)) offending.push({ sql: sql.replace(/\s+/g, " ").trim(), step });
			}
		}
		expect(offending).toEqual([]);
	});
});
