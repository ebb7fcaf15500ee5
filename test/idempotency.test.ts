// Idempotency-Key on the enqueue routes: replay, conflict, expiry, and a retry
// after the queue refused the first attempt.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { call, postJson, rowCounts } from "./helpers";

afterEach(() => vi.restoreAllMocks());

const body = { email: "ada@example.com", subject: "Welcome", body: "Hello" };

describe("Idempotency-Key", () => {
	it("replays: the same key and body return the first task with 200 and enqueue nothing", async () => {
		const send = vi.spyOn(env.TASKS, "send");
		const key = crypto.randomUUID();

		const first = await postJson("/send-email", body, { "Idempotency-Key": key });
		const before = await rowCounts();
		const second = await postJson("/send-email", body, { "Idempotency-Key": key });

		expect(first.status).toBe(202);
		expect(second.status).toBe(200);
		const { task_id } = await first.json<{ task_id: string }>();
		expect(await second.json()).toEqual({ task_id, status: "queued" });
		expect(second.headers.get("Location")).toBe(`/tasks/${task_id}`);
		expect(send).toHaveBeenCalledTimes(1);
		expect(await rowCounts()).toEqual(before);
	});

	it("works on POST /process-user/:id too", async () => {
		const key = crypto.randomUUID();
		const first = await call("/process-user/5", { method: "POST", headers: { "Idempotency-Key": key } });
		const second = await call("/process-user/5", { method: "POST", headers: { "Idempotency-Key": key } });
		expect([first.status, second.status]).toEqual([202, 200]);
		expect((await second.json<{ task_id: string }>()).task_id).toBe((await first.json<{ task_id: string }>()).task_id);
	});

	it("answers 422 when the key is reused for a different body, writing nothing", async () => {
		const key = crypto.randomUUID();
		await postJson("/send-email", body, { "Idempotency-Key": key });
		const before = await rowCounts();

		const res = await postJson("/send-email", { ...body, subject: "Different" }, { "Idempotency-Key": key });

		expect(res.status).toBe(422);
		expect(await res.json()).toMatchObject({ error: { code: "idempotency_key_reused" } });
		expect(await rowCounts()).toEqual(before);
	});

	it("answers 422 when the key is reused on another route", async () => {
		const key = crypto.randomUUID();
		await postJson("/send-email", body, { "Idempotency-Key": key });
		const res = await call("/process-user/1", { method: "POST", headers: { "Idempotency-Key": key } });
		expect(res.status).toBe(422);
	});

	it("forgets an expired key: the same request enqueues a new task", async () => {
		const key = crypto.randomUUID();
		const first = await postJson("/send-email", body, { "Idempotency-Key": key });
		await env.DB.prepare("UPDATE idempotency_keys SET expires_at = 0 WHERE key = ?").bind(key).run();

		const again = await postJson("/send-email", body, { "Idempotency-Key": key });

		expect(again.status).toBe(202);
		const firstId = (await first.json<{ task_id: string }>()).task_id;
		const againId = (await again.json<{ task_id: string }>()).task_id;
		expect(againId).not.toBe(firstId);
		const stored = await env.DB.prepare("SELECT task_id FROM idempotency_keys WHERE key = ?").bind(key).first();
		expect(stored).toEqual({ task_id: againId });
	});

	it("after a 503 the client can retry with the same key and get a task", async () => {
		const key = crypto.randomUUID();
		vi.spyOn(env.TASKS, "send").mockRejectedValueOnce(new Error("queue down"));

		const failed = await postJson("/send-email", body, { "Idempotency-Key": key });
		const retried = await postJson("/send-email", body, { "Idempotency-Key": key });

		expect(failed.status).toBe(503);
		expect(retried.status).toBe(202);
	});

	it.each([
		["too long", "k".repeat(256)],
		["with a space", "two words"],
	])("rejects a key %s with 400", async (_case, key) => {
		const before = await rowCounts();
		const res = await postJson("/send-email", body, { "Idempotency-Key": key });
		expect(res.status).toBe(400);
		expect(await res.json()).toMatchObject({ error: { code: "validation_error", details: [{ path: "idempotency-key" }] } });
		expect(await rowCounts()).toEqual(before);
	});
});
