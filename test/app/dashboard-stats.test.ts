// The overview's aggregates: right numbers from seeded rows, and every query
// answered from an index range, never a scan of the table.
import { env } from "cloudflare:workers";
import type { Query } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { TaskState } from "../../src/engine/states";
import { loadOverview, overviewQueries } from "../../src/engine/store/stats";
import { testContext } from "./helpers";

const NOW = Date.UTC(2031, 0, 1, 12, 0, 30);
const MIN = 60_000;
const names = ["send_email", "process_user_data"];

async function seed(name: string, status: TaskState, createdAgo: number, more: { finishedAgo?: number; dueIn?: number } = {}) {
	const id = crypto.randomUUID();
	const created = NOW - createdAgo;
	await env.DB.prepare(
		"INSERT INTO tasks (id, name, payload, status, created_at, updated_at, due_at, finished_at, error) VALUES (?, ?, '{}', ?, ?, ?, ?, ?, ?)",
	)
		.bind(
			id,
			name,
			status,
			created,
			created,
			NOW + (more.dueIn ?? -createdAgo),
			more.finishedAgo === undefined ? null : NOW - more.finishedAgo,
			status === "FAILURE" ? "smtp down" : null,
		)
		.run();
	return id;
}

describe("overview aggregates", () => {
	it("counts per state and name over the hour and day, buckets finished tasks, finds the oldest due task", async () => {
		for (let i = 0; i < 3; i++) await seed("send_email", "SUCCESS", 10 * MIN, { finishedAgo: 9 * MIN });
		for (let i = 0; i < 2; i++) await seed("send_email", "FAILURE", 30 * MIN, { finishedAgo: 29 * MIN });
		await seed("process_user_data", "FAILURE", 5 * 60 * MIN, { finishedAgo: 5 * 60 * MIN });
		await seed("process_user_data", "SUCCESS", 48 * 60 * MIN, { finishedAgo: 48 * 60 * MIN });
		const due = await seed("send_email", "PENDING", 20 * MIN);
		await seed("send_email", "PENDING", 40 * MIN, { dueIn: 60 * MIN }); // older, but delayed: not backlog
		await seed("process_user_data", "STARTED", 1 * MIN);
		await seed("send_email", "RETRY", 3 * MIN);
		// A name no longer registered: its failures show, its successes do not.
		await seed("retired_task", "FAILURE", 2 * 60 * MIN, { finishedAgo: 2 * 60 * MIN });
		await seed("retired_task", "SUCCESS", 2 * 60 * MIN, { finishedAgo: 2 * 60 * MIN });

		const hour = await loadOverview(testContext().db, new Date(NOW), "1h", names);

		expect(hour.states).toEqual([
			{ state: "PENDING", hour: 2, day: 2 },
			{ state: "STARTED", hour: 1, day: 1 },
			{ state: "RETRY", hour: 1, day: 1 },
			{ state: "SUCCESS", hour: 3, day: 4 },
			{ state: "FAILURE", hour: 2, day: 4 },
			{ state: "REVOKED", hour: 0, day: 0 },
		]);
		expect(hour.names).toEqual([
			{ name: "send_email", hour: 8, day: 8, failedHour: 2, failedDay: 2 },
			{ name: "process_user_data", hour: 1, day: 2, failedHour: 0, failedDay: 1 },
			{ name: "retired_task", hour: 0, day: 1, failedHour: 0, failedDay: 1 },
		]);
		expect(hour.unfinished).toEqual({ PENDING: 2, STARTED: 1, RETRY: 1 });
		expect(hour.oldestDue).toMatchObject({ id: due, name: "send_email", dueAt: new Date(NOW - 20 * MIN) });

		expect(hour.buckets).toHaveLength(60);
		expect(hour.buckets.at(-1)?.start).toEqual(new Date(NOW - 30_000));
		const at = (ago: number) => hour.buckets.find((b) => b.start.getTime() === Math.floor((NOW - ago) / MIN) * MIN);
		expect(at(9 * MIN)).toMatchObject({ succeeded: 3, failed: 0 });
		expect(at(29 * MIN)).toMatchObject({ succeeded: 0, failed: 2 });
		expect(at(10 * MIN)).toMatchObject({ enqueued: 3 });
		expect(hour.buckets.reduce((sum, b) => sum + b.enqueued, 0)).toBe(9);
		expect(hour.recentFailures.map((t) => t.name)).toEqual(["send_email", "send_email", "retired_task", "process_user_data"]);

		const day = await loadOverview(testContext().db, new Date(NOW), "24h", names);
		expect(day.buckets).toHaveLength(48);
		expect(day.buckets.reduce((sum, b) => sum + b.failed, 0)).toBe(4);
		expect(day.buckets.reduce((sum, b) => sum + b.succeeded, 0)).toBe(4);
		expect(day.buckets.reduce((sum, b) => sum + b.enqueued, 0)).toBe(12);
		const halfHour = (ago: number) =>
			day.buckets.find((b) => b.start.getTime() === Math.floor((NOW - ago) / (30 * MIN)) * 30 * MIN);
		expect(halfHour(5 * 60 * MIN)).toMatchObject({ enqueued: 1, failed: 1 });
		expect(halfHour(2 * 60 * MIN)).toMatchObject({ enqueued: 2, succeeded: 1, failed: 1 });
	});

	it("counts per name however many names the app registers (D1 binds at most 100 parameters a statement)", async () => {
		const many = Array.from({ length: 150 }, (_, i) => `task_${i}`);
		await seed("task_149", "SUCCESS", 10 * MIN, { finishedAgo: 9 * MIN });

		const overview = await loadOverview(testContext().db, new Date(NOW), "1h", many);

		expect(overview.names).toContainEqual({ name: "task_149", hour: 1, day: 1, failedHour: 0, failedDay: 0 });
		expect(overview.names.map((n) => n.name)).not.toContain("task_0");
	});

	it.each(["1h", "24h"] as const)("answers every %s query from an index range", async (range) => {
		const q = overviewQueries(testContext().db, new Date(NOW), range, names);
		for (const query of [q.byState, q.byName, q.failedByName, q.unfinished, q.oldestDue, q.buckets]) {
			const { sql, detail } = await plan(query);
			expect(detail, sql).toMatch(/SEARCH tasks USING (COVERING )?INDEX tasks_/);
			expect(detail, sql).not.toMatch(/SCAN tasks/);
		}
	});

	it("lists tasks waiting on a flow limit from the partial index, which holds only them", async () => {
		const { sql, detail } = await plan(overviewQueries(testContext().db, new Date(NOW), "1h", names).waiting);
		expect(detail, sql).toMatch(/USING INDEX tasks_waiting_idx/);
	});

	it.each(["1h", "24h"] as const)("counts the %s range's tasks from the indexes alone", async (range) => {
		const q = overviewQueries(testContext().db, new Date(NOW), range, names);
		for (const query of [q.byState, q.byName, q.failedByName, q.buckets]) {
			const { sql, detail } = await plan(query);
			const reads = detail.split("; ").filter((step) => / tasks\b/.test(step));
			expect(reads.length, sql).toBeGreaterThan(0);
			for (const read of reads) expect(read, `${sql}\n${detail}`).toMatch(/^SEARCH tasks USING COVERING INDEX/);
		}
	});
});

/** SQLite's plan for a query, built by the query builder or written as SQL. */
async function plan(query: { toSQL(): Query } | { getQuery(): Query }) {
	const { sql, params } = "toSQL" in query ? query.toSQL() : query.getQuery();
	const steps = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
		.bind(...params)
		.all<{ detail: string }>();
	return { sql, detail: steps.results.map((r) => r.detail).join("; ") };
}
