// The query plans behind what npm run bench:scale times: every statement the
// real route or maintenance run sends to D1 is recorded from the binding and
// explained, so a plan is pinned as the code builds it, not as a copy of its
// SQL. None may read a whole table, or read an index further than its page.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { expireResults } from "../../src/engine/builtins/expire-results";
import { recoverStuckTasks } from "../../src/engine/builtins/recover-stuck-tasks";
import type { TaskDefinition } from "../../src/engine/define";
import { createScopes } from "../../src/engine/engine";
import type { Runtime } from "../../src/engine/runtime";
import { engineOptions } from "../../src/index";
import { page, signIn } from "./dashboard-helpers";
import { call } from "./helpers";

interface Sent {
	sql: string;
	params: unknown[];
}

/** env with a D1 binding that records each statement prepared on it, with what it is bound to. */
function recording(): { env: Env; sent: Sent[] } {
	const sent: Sent[] = [];
	const db = new Proxy(env.DB, {
		get(target, key) {
			if (key !== "prepare") return Reflect.get(target, key, target);
			return (sql: string) => {
				const entry: Sent = { sql, params: [] };
				sent.push(entry);
				const statement = target.prepare(sql);
				const bind = statement.bind.bind(statement);
				// The bound statement is D1's own, so batch() takes it as usual.
				statement.bind = (...params: unknown[]) => {
					entry.params = params;
					return bind(...params);
				};
				return statement;
			};
		},
	});
	return { env: { ...env, DB: db }, sent };
}

/** SQLite's plan for each recorded statement on `table`, one string per statement. */
async function plansOn(sent: Sent[], table = "tasks"): Promise<{ sql: string; plan: string }[]> {
	const on = sent.filter((s) => new RegExp(`\\b(FROM|UPDATE|INTO)\\s+"?${table}"?`, "i").test(s.sql));
	expect(on.length, `statements on ${table}`).toBeGreaterThan(0);
	return Promise.all(
		on.map(async ({ sql, params }) => {
			const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
				.bind(...params)
				.all<{ detail: string }>();
			return { sql, plan: plan.results.map((r) => r.detail).join("; ") };
		}),
	);
}

// The database's tables: a plan also scans rows that no table holds (VALUES,
// a CTE, json_each), and those read nothing stored.
const { results: tables } = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all<{ name: string }>();
const TABLES = new Set(tables.map((t) => t.name));
if (!TABLES.has("tasks")) throw new Error("no tasks table: every scan would pass unseen");

/** Plan steps that walk a table or an index from one end instead of seeking into it. */
const scans = (plan: string) =>
	plan.split("; ").filter((step) => {
		const [, walked] = /^SCAN (\S+)/.exec(step) ?? [];
		return walked !== undefined && TABLES.has(walked);
	});

const DAY = 86_400_000;

async function seedFinished(n: number, createdAgoMs: number) {
	for (let i = 0; i < n; i++) {
		const at = Date.now() - createdAgoMs - i;
		const status = i % 2 === 0 ? "SUCCESS" : "FAILURE";
		await env.DB.prepare(
			"INSERT INTO tasks (id, name, payload, status, created_at, updated_at, due_at, finished_at) VALUES (?, 'send_email', '{}', ?, ?, ?, ?, ?)",
		)
			.bind(crypto.randomUUID(), status, at, at, at, at + 50)
			.run();
	}
}

/** The listing's one statement for `query`, and its plan. */
async function listPlan(query: string): Promise<string> {
	const { env: recorded, sent } = recording();
	expect((await call(`/tasks${query}`, {}, recorded)).status).toBe(200);
	const [listing, ...more] = await plansOn(sent);
	expect(more).toEqual([]);
	return listing?.plan ?? "";
}

async function cursorFor(query: string): Promise<string> {
	await seedFinished(4, 10 * DAY);
	const body = await (await call(`/tasks?limit=1${query}`)).json<{ next_cursor: string }>();
	return body.next_cursor;
}

describe("GET /tasks", () => {
	it("reads the first page in index order and stops at the page's end", async () => {
		await seedFinished(2, DAY);
		// An unfiltered walk of (created_at, id) from its newest end: LIMIT ends it.
		expect(await listPlan("")).toBe("SCAN tasks USING INDEX tasks_created_idx");
	});

	it("seeks to a cursor however deep it is", async () => {
		const cursor = await cursorFor("");
		expect(await listPlan(`?cursor=${cursor}`)).toBe("SEARCH tasks USING INDEX tasks_created_idx ((created_at,id)<(?,?))");
	});

	it("reads failures from the status index, from the top and from a cursor", async () => {
		await seedFinished(2, DAY);
		expect(await listPlan("?status=FAILURE")).toBe("SEARCH tasks USING INDEX tasks_status_created_idx (status=?)");
		const cursor = await cursorFor("&status=FAILURE");
		expect(await listPlan(`?status=FAILURE&cursor=${cursor}`)).toBe(
			"SEARCH tasks USING INDEX tasks_status_created_idx (status=? AND (created_at,id)<(?,?))",
		);
	});
});

describe("GET /tasks/:id", () => {
	it("reads one row by its primary key", async () => {
		const id = crypto.randomUUID();
		await env.DB.prepare(
			"INSERT INTO tasks (id, name, payload, status, created_at, updated_at, due_at) VALUES (?, 'send_email', '{}', 'SUCCESS', 1, 1, 1)",
		)
			.bind(id)
			.run();
		const { env: recorded, sent } = recording();
		expect((await call(`/tasks/${id}`, {}, recorded)).status).toBe(200);
		expect((await plansOn(sent)).map((p) => p.plan)).toEqual(["SEARCH tasks USING INDEX sqlite_autoindex_tasks_1 (id=?)"]);
	});
});

describe("the dashboard's overview", () => {
	it.each(["", "?range=24h"])("seeks into an index for every aggregate (%s)", async (query) => {
		const cookie = await signIn();
		const { env: recorded, sent } = recording();
		expect((await page(`/dashboard${query}`, cookie, recorded)).status).toBe(200);
		for (const { sql, plan } of await plansOn(sent)) {
			// The one walk: the partial index of tasks waiting on a flow limit holds only them.
			expect(
				scans(plan).filter((step) => step !== "SCAN tasks USING INDEX tasks_waiting_idx"),
				`${sql}\n${plan}`,
			).toEqual([]);
		}
	});
});

/** Every statement one run of a built-in sends, explained. */
async function runPlans(task: TaskDefinition<Runtime>, table: string) {
	const { env: recorded, sent } = recording();
	const { rt } = createScopes(engineOptions).scopeOf(recorded);
	const info = { id: crypto.randomUUID(), name: task.name, attempt: 1, once: <T>(_: string, f: () => Promise<T>) => f() };
	await task.run(rt, task.input.parse({}), info);
	return plansOn(sent, table);
}

describe("maintenance runs", () => {
	it("expire_results seeks the expired rows of each table", async () => {
		await seedFinished(3, 30 * DAY);
		for (const table of ["tasks", "idempotency_keys", "workflows"]) {
			for (const { sql, plan } of await runPlans(expireResults, table)) expect(scans(plan), `${sql}\n${plan}`).toEqual([]);
		}
	});

	it("recover_stuck_tasks seeks the stuck tasks and the webhooks owed", async () => {
		const id = crypto.randomUUID();
		const long = Date.now() - DAY;
		await env.DB.prepare(
			"INSERT INTO tasks (id, name, payload, status, attempts, created_at, updated_at, due_at, lease_expires_at) VALUES (?, 'process_user_data', '{\"user_id\":1}', 'STARTED', 1, ?, ?, ?, ?)",
		)
			.bind(id, long, long, long, long + 1000)
			.run();
		const plans = await runPlans(recoverStuckTasks, "tasks");
		// The search for stuck tasks, the move of the one found, the webhooks owed.
		expect(plans.length).toBeGreaterThanOrEqual(3);
		for (const { sql, plan } of plans) expect(scans(plan), `${sql}\n${plan}`).toEqual([]);
	});
});
