// The overview's aggregates: right numbers from seeded rows, and every query
// answered from an index range, never a scan of the table.
import { env } from "cloudflare:workers";
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

		const hour = await loadOverview(testContext().db, new Date(NOW), "1h", names);

		expect(hour.states).toEqual([
			{ state: "PENDING", hour: 2, day: 2 },
			{ state: "STARTED", hour: 1, day: 1 },
			{ state: "RETRY", hour: 1, day: 1 },
			{ state: "SUCCESS", hour: 3, day: 3 },
			{ state: "FAILURE", hour: 2, day: 3 },
			{ state: "REVOKED", hour: 0, day: 0 },
		]);
		expect(hour.names).toEqual([
			{ name: "send_email", hour: 8, day: 8, failedHour: 2, failedDay: 2 },
			{ name: "process_user_data", hour: 1, day: 2, failedHour: 0, failedDay: 1 },
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
		expect(hour.recentFailures.map((t) => t.name)).toEqual(["send_email", "send_email", "process_user_data"]);

		const day = await loadOverview(testContext().db, new Date(NOW), "24h", names);
		expect(day.buckets).toHaveLength(48);
		expect(day.buckets.reduce((sum, b) => sum + b.failed, 0)).toBe(3);
		expect(day.buckets.reduce((sum, b) => sum + b.succeeded, 0)).toBe(3);
	});

	it.each(["1h", "24h"] as const)("answers every %s query from an index range", async (range) => {
		const queries = overviewQueries(testContext().db, new Date(NOW), range, names);
		const built = [queries.byState, queries.byName, queries.failedByName, queries.unfinished, queries.oldestDue];
		for (const query of [...built, queries.finished, queries.enqueued]) {
			const { sql, params } = query.toSQL();
			const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
				.bind(...params)
				.all<{ detail: string }>();
			const detail = plan.results.map((r) => r.detail).join("; ");
			expect(detail, sql).toMatch(/SEARCH tasks USING (COVERING )?INDEX tasks_/);
			expect(detail, sql).not.toMatch(/SCAN tasks/);
		}
	});

	it("lists tasks waiting on a flow limit from the partial index, which holds only them", async () => {
		const { sql, params } = overviewQueries(testContext().db, new Date(NOW), "1h", names).waiting.toSQL();
		const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
			.bind(...params)
			.all<{ detail: string }>();
		expect(plan.results.map((r) => r.detail).join("; "), sql).toMatch(/USING INDEX tasks_waiting_idx/);
	});

	it("counts finished tasks per bucket from the index alone", async () => {
		const { finished, byState, byName, failedByName } = overviewQueries(testContext().db, new Date(NOW), "1h", names);
		for (const query of [finished, byState, byName, failedByName]) {
			const { sql, params } = query.toSQL();
			const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
				.bind(...params)
				.all<{ detail: string }>();
			expect(plan.results.map((r) => r.detail).join("; "), sql).toContain("USING COVERING INDEX");
		}
	});
});
