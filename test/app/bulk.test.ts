// Bulk enqueue: one task per item, all or an error that says which were not.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";

import { failD1When, postJson, rowCounts, taskRow } from "./helpers";

afterEach(() => vi.restoreAllMocks());

describe("POST /process-users", () => {
	it("enqueues 1000 tasks: every row, every message, input order kept, Queues' limits respected", async () => {
		const sendBatch = vi.spyOn(env.TASKS, "sendBatch");
		const prepare = vi.spyOn(env.DB, "prepare");
		const userIds = Array.from({ length: 1000 }, (_, i) => 5000 + i);

		const res = await postJson("/process-users", { user_ids: userIds, delay_seconds: 3600 });

		expect(res.status).toBe(202);
		const { task_ids } = await res.json<{ task_ids: string[] }>();
		expect(task_ids).toHaveLength(1000);
		const rows = await env.DB.prepare(
			"SELECT id, json_extract(payload, '$.user_id') AS user_id FROM tasks WHERE name = 'process_user_data' AND status = 'PENDING'",
		).all<{ id: string; user_id: number }>();
		const userOf = new Map(rows.results.map((r) => [r.id, r.user_id]));
		expect(task_ids.map((id) => userOf.get(id))).toEqual(userIds);

		const sent = sendBatch.mock.calls.flatMap(([messages]) => [...messages]);
		expect(sent.map((m) => (m.body as { id: string }).id)).toEqual(task_ids);
		expect(sent.every((m) => m.delaySeconds === 3600)).toBe(true);
		expect(sendBatch.mock.calls.every(([messages]) => [...messages].length <= 100)).toBe(true);
		// Every statement binds at most 100 parameters (D1's limit).
		for (const call of prepare.mock.calls) {
			expect((call[0].match(/\?/g) ?? []).length).toBeLessThanOrEqual(100);
		}
	});

	it.each([
		["no ids", { user_ids: [] }],
		["1001 ids", { user_ids: Array.from({ length: 1001 }, (_, i) => i + 1) }],
		["a bad id", { user_ids: [1, 0, 3] }],
		["a string id", { user_ids: [1, "2"] }],
	])("rejects %s with 400 and writes nothing", async (_case, body) => {
		const sendBatch = vi.spyOn(env.TASKS, "sendBatch");
		const before = await rowCounts();
		const res = await postJson("/process-users", body);
		expect(res.status).toBe(400);
		expect(await rowCounts()).toEqual(before);
		expect(sendBatch).not.toHaveBeenCalled();
	});

	it("when the queue fails midway, says which tasks were not enqueued and fails them", async () => {
		const realSendBatch = env.TASKS.sendBatch;
		let calls = 0;
		vi.spyOn(env.TASKS, "sendBatch").mockImplementation(async (messages, options) => {
			if (++calls === 3) throw new Error("Queue sendBatch failed");
			return Reflect.apply(realSendBatch, env.TASKS, [messages, options]);
		});
		const userIds = Array.from({ length: 450 }, (_, i) => 9000 + i);

		const res = await postJson("/process-users", { user_ids: userIds, delay_seconds: 3600 });

		expect(res.status).toBe(503);
		const { error } = await res.json<{
			error: { code: string; details: { enqueued: { index: number }[]; not_enqueued: { index: number; task_id: string }[] } };
		}>();
		expect(error.code).toBe("queue_unavailable");
		expect(error.details.enqueued).toHaveLength(200);
		expect(error.details.not_enqueued).toHaveLength(250);
		expect(error.details.not_enqueued[0]?.index).toBe(200);
		// Counted by id: other files may share this database.
		const failed = await env.DB.prepare(
			"SELECT count(*) AS n FROM tasks WHERE status = 'FAILURE' AND error LIKE 'enqueue failed:%' AND id IN (SELECT value FROM json_each(?))",
		)
			.bind(JSON.stringify(error.details.not_enqueued.map((t) => t.task_id)))
			.first<{ n: number }>();
		expect(failed?.n).toBe(250);
	});
});

describe("POST /process-users when D1 fails too", () => {
	it("answers 503 with every task id, saying their state is unknown; the rows stay PENDING for recovery", async () => {
		vi.spyOn(env.TASKS, "sendBatch").mockRejectedValueOnce(new Error("Queue sendBatch failed"));
		failD1When((sql) => sql.includes("DO UPDATE SET status = 'FAILURE'"));
		const userIds = [9801, 9802, 9803];

		const res = await postJson("/process-users", { user_ids: userIds, delay_seconds: 3600 });
		vi.restoreAllMocks();

		expect(res.status).toBe(503);
		const { error } = await res.json<{ error: { code: string; message: string; details: { task_ids: string[] } } }>();
		expect(error).toMatchObject({ code: "queue_unavailable", message: expect.stringContaining("could not be recorded") });
		expect(error.details.task_ids).toHaveLength(3);
		for (const id of error.details.task_ids) expect(await taskRow(id)).toMatchObject({ status: "PENDING" });
	});
});

describe("POST /send-emails", () => {
	it("splits sendBatch calls by UTF-8 bytes, within Queues' 256 KB, not by characters", async () => {
		const sendBatch = vi.spyOn(env.TASKS, "sendBatch");
		const body = "日".repeat(30_000); // 30,000 characters, 90,000 bytes
		const messages = Array.from({ length: 6 }, (_, i) => ({ email: `cjk${i}@example.com`, subject: "長い", body }));

		const res = await postJson("/send-emails", { messages, delay_seconds: 3600 });

		expect(res.status).toBe(202);
		const sizes = sendBatch.mock.calls.map(
			([batch]) => new TextEncoder().encode(JSON.stringify([...batch].map((m) => m.body))).length,
		);
		expect(sizes.length).toBeGreaterThanOrEqual(3);
		for (const size of sizes) expect(size).toBeLessThanOrEqual(256_000);
	});

	it("refuses, with 413 and before writing anything, an input too large for one queue message", async () => {
		const sendBatch = vi.spyOn(env.TASKS, "sendBatch");
		const before = await rowCounts();
		// 40,000 control characters pass the schema but are 240,000 bytes as JSON.
		const messages = [
			{ email: "a@example.com", subject: "ok", body: "fine" },
			{ email: "b@example.com", subject: "escaped", body: "\u0001".repeat(40_000) },
		];

		const res = await postJson("/send-emails", { messages });

		expect(res.status).toBe(413);
		expect(await res.json()).toMatchObject({
			error: { code: "payload_too_large", details: { too_large: [{ index: 1, bytes: expect.any(Number) }] } },
		});
		expect(await rowCounts()).toEqual(before);
		expect(sendBatch).not.toHaveBeenCalled();
	});

	it("enqueues up to 500 emails in input order", async () => {
		const messages = Array.from({ length: 500 }, (_, i) => ({ email: `user${i}@example.com`, subject: `#${i}`, body: "x" }));
		const res = await postJson("/send-emails", { messages, delay_seconds: 3600 });
		expect(res.status).toBe(202);
		const { task_ids } = await res.json<{ task_ids: string[] }>();
		expect(task_ids).toHaveLength(500);
		const last = await env.DB.prepare("SELECT json_extract(payload, '$.recipient') AS r FROM tasks WHERE id = ?")
			.bind(task_ids[499])
			.first<{ r: string }>();
		expect(last?.r).toBe("user499@example.com");
	});

	it("rejects 501 messages and an invalid message with 400", async () => {
		const one = { email: "a@example.com", subject: "s", body: "b" };
		expect((await postJson("/send-emails", { messages: Array.from({ length: 501 }, () => one) })).status).toBe(400);
		const res = await postJson("/send-emails", { messages: [one, { ...one, email: "bad" }] });
		expect(res.status).toBe(400);
		expect(await res.json()).toMatchObject({ error: { details: [{ path: "messages.1.email" }] } });
	});
});
