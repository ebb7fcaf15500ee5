// Listing, revoking and retrying tasks: Flower and `celery inspect` / `revoke`.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { insertPendingMany } from "../../src/engine/store/tasks";
import { call, deliver, postJson, recorded, testContext } from "./helpers";

afterEach(() => vi.restoreAllMocks());

type Page = { tasks: { task_id: string; name: string; status: string; created_at: string }[]; next_cursor: string | null };

// Tests in a file share one D1, so each seeds its own second of 2030 and
// queries only that window.
let seeds = 0;

async function seed250() {
	const db = testContext().db;
	const base = Date.UTC(2030, 0, 1) + 1000 * seeds++;
	const within = `created_after=${new Date(base).toISOString()}&created_before=${new Date(base + 999).toISOString()}`;
	const rows = Array.from({ length: 250 }, (_, i) => ({
		id: crypto.randomUUID(),
		name: i % 2 ? "send_email" : "process_user_data",
		payload: { i },
	}));
	// Five tasks share each millisecond, so the cursor's id tie-break matters.
	for (let i = 0; i < rows.length; i += 5) {
		const [first, ...more] = insertPendingMany(db, rows.slice(i, i + 5), new Date(base + i));
		if (first) await db.batch([first, ...more]);
	}
	await env.DB.prepare("UPDATE tasks SET status = 'FAILURE' WHERE json_extract(payload, '$.i') % 10 = 0").run();
	return { rows, base, within };
}

async function pages(query: string): Promise<Page["tasks"]> {
	const seen: Page["tasks"] = [];
	let cursor: string | null = null;
	for (let i = 0; i < 100; i++) {
		const res = await call(`/tasks?${query}${cursor ? `&cursor=${cursor}` : ""}`);
		expect(res.status).toBe(200);
		const page = await res.json<Page>();
		seen.push(...page.tasks);
		cursor = page.next_cursor;
		if (!cursor) break;
	}
	return seen;
}

describe("GET /tasks", () => {
	it("pages through 250 tasks newest first with no duplicates or gaps", async () => {
		const { rows, within } = await seed250();
		const seen = await pages(`limit=7&${within}`);

		expect(seen).toHaveLength(250);
		expect(new Set(seen.map((t) => t.task_id)).size).toBe(250);
		expect(new Set(seen.map((t) => t.task_id))).toEqual(new Set(rows.map((r) => r.id)));
		const keys = seen.map((t) => `${t.created_at}|${t.task_id}`);
		expect(keys).toEqual([...keys].sort().reverse());
	});

	it("filters by status, name and time range", async () => {
		const { base, within } = await seed250();
		const failed = await pages(`status=FAILURE&limit=100&${within}`);
		expect(failed).toHaveLength(25);
		expect(failed.every((t) => t.status === "FAILURE")).toBe(true);

		const emails = await pages(`name=send_email&limit=100&${within}`);
		expect(emails).toHaveLength(125);

		const at = (ms: number) => new Date(base + ms).toISOString();
		const window = await pages(`created_after=${at(10)}&created_before=${at(19)}`);
		expect(window).toHaveLength(10);
	});

	it("defaults to 20 per page and refuses bad limits, statuses, times and cursors", async () => {
		await seed250();
		expect((await (await call("/tasks")).json<Page>()).tasks).toHaveLength(20);
		for (const query of ["limit=0", "limit=101", "status=DONE", "created_after=yesterday", "cursor=not-a-cursor"]) {
			const res = await call(`/tasks?${query}`);
			expect(res.status, query).toBe(400);
		}
	});

	it("uses an index for every filter", async () => {
		const plans = [
			"SELECT * FROM tasks ORDER BY created_at DESC, id DESC LIMIT 21",
			"SELECT * FROM tasks WHERE status = 'FAILURE' ORDER BY created_at DESC, id DESC LIMIT 21",
			"SELECT * FROM tasks WHERE name = 'send_email' AND created_at < 5 ORDER BY created_at DESC, id DESC LIMIT 21",
		];
		for (const sql of plans) {
			const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`).all<{ detail: string }>();
			const detail = plan.results.map((r) => r.detail).join("; ");
			expect(detail, sql).toMatch(/USING (COVERING )?INDEX tasks_/);
			expect(detail, sql).not.toContain("TEMP B-TREE");
		}
	});
});

describe("DELETE /tasks/:id (revoke)", () => {
	it("revokes a delayed task before it runs; its delivery is acked and no email is sent", async () => {
		const send = vi.spyOn(env.MAILER, "send");
		const res = await postJson("/send-email", { email: "ada@example.com", subject: "Later", body: "x", delay_seconds: 3600 });
		const { task_id } = await res.json<{ task_id: string }>();

		const revoked = await call(`/tasks/${task_id}`, { method: "DELETE" });
		expect(revoked.status).toBe(200);
		expect(await revoked.json()).toMatchObject({ task_id, status: "REVOKED" });

		const { result } = await deliver([
			{ id: task_id, name: "send_email", input: { recipient: "ada@example.com", subject: "Later", body: "x" } },
		]);
		expect(result.explicitAcks).toHaveLength(1);
		expect(send).not.toHaveBeenCalled();
		expect(await (await call(`/tasks/${task_id}`)).json()).toMatchObject({ status: "REVOKED", attempts: 0 });
	});

	it("answers 409 for a finished or running task and 404 for an unknown one", async () => {
		const envelope = await recorded("process_user_data", { user_id: 1 });
		await deliver([envelope]);
		const res = await call(`/tasks/${envelope.id}`, { method: "DELETE" });
		expect(res.status).toBe(409);
		expect(await res.json()).toMatchObject({ error: { code: "conflict", message: expect.stringContaining("SUCCESS") } });

		const running = await recorded("process_user_data", { user_id: 1 });
		await env.DB.prepare("UPDATE tasks SET status = 'STARTED' WHERE id = ?").bind(running.id).run();
		expect((await call(`/tasks/${running.id}`, { method: "DELETE" })).status).toBe(409);

		expect((await call(`/tasks/${crypto.randomUUID()}`, { method: "DELETE" })).status).toBe(404);
	});
});

describe("POST /tasks/:id/retry", () => {
	it("re-enqueues a failed task as a new task linked to the original", async () => {
		const send = vi.spyOn(env.TASKS, "send");
		const original = await recorded("send_email", { recipient: "ada@example.com", subject: "Again", body: "x" });
		await env.DB.prepare("UPDATE tasks SET status = 'FAILURE', error = 'boom' WHERE id = ?").bind(original.id).run();

		const res = await call(`/tasks/${original.id}/retry`, { method: "POST" });

		expect(res.status).toBe(202);
		const { task_id } = await res.json<{ task_id: string }>();
		expect(task_id).not.toBe(original.id);
		expect(res.headers.get("Location")).toBe(`/tasks/${task_id}`);
		expect(await (await call(`/tasks/${task_id}`)).json()).toMatchObject({ name: "send_email", retry_of: original.id });
		expect(send.mock.calls[0]?.[0]).toEqual({ id: task_id, name: "send_email", input: original.input });
	});

	it("answers 409 for a task that is not FAILURE or REVOKED", async () => {
		const pending = await recorded("process_user_data", { user_id: 1 });
		const res = await call(`/tasks/${pending.id}/retry`, { method: "POST" });
		expect(res.status).toBe(409);
	});
});

describe("retry, repeated", () => {
	/** A delayed email, revoked before it ran: a task retry accepts. */
	async function revokedTask() {
		const res = await postJson("/send-email", { email: "ada@example.com", subject: "Hi", body: "Body", delay_seconds: 600 });
		const { task_id } = await res.json<{ task_id: string }>();
		await call(`/tasks/${task_id}`, { method: "DELETE" });
		return task_id;
	}

	it("a second retry of the same task answers 200 with the task the first created: a double click sends once", async () => {
		const task_id = await revokedTask();
		const first = await call(`/tasks/${task_id}/retry`, { method: "POST" });
		const second = await call(`/tasks/${task_id}/retry`, { method: "POST" });
		expect([first.status, second.status]).toEqual([202, 200]);
		expect((await second.json<{ task_id: string }>()).task_id).toBe((await first.json<{ task_id: string }>()).task_id);
		expect(second.headers.get("Location")).toBe(first.headers.get("Location"));
	});

	it("two retries at once create one task: the other waits (409) or replays it (200)", async () => {
		const task_id = await revokedTask();
		const answers = await Promise.all([1, 2].map(() => call(`/tasks/${task_id}/retry`, { method: "POST" })));
		expect(answers.map((a) => a.status).filter((s) => s === 202)).toHaveLength(1);
		expect(answers.every((a) => [200, 202, 409].includes(a.status))).toBe(true);
		const retries = await env.DB.prepare("SELECT count(*) AS n FROM tasks WHERE retry_of = ?")
			.bind(task_id)
			.first<{ n: number }>();
		expect(retries?.n).toBe(1);
	});

	it("is rate limited like any enqueue", async () => {
		vi.spyOn(env.ENQUEUE_LIMITER, "limit").mockResolvedValue({ success: false });
		const res = await call(`/tasks/${crypto.randomUUID()}/retry`, { method: "POST" });
		expect(res.status).toBe(429);
		expect(res.headers.get("Retry-After")).toBe("60");
	});
});
