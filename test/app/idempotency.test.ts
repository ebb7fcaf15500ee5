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

	it("reads the header whatever the case of its name", async () => {
		const key = crypto.randomUUID();
		const first = await postJson("/send-email", body, { "IDEMPOTENCY-KEY": key });
		const second = await postJson("/send-email", body, { "idempotency-key": key });
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

	it("covers the schedule as sent: another delay is 422, the same eta replays", async () => {
		const key = crypto.randomUUID();
		const first = await postJson("/send-email", { ...body, delay_seconds: 600 }, { "Idempotency-Key": key });
		const sameDelay = await postJson("/send-email", { ...body, delay_seconds: 600 }, { "Idempotency-Key": key });
		const otherDelay = await postJson("/send-email", { ...body, delay_seconds: 900 }, { "Idempotency-Key": key });
		const noDelay = await postJson("/send-email", body, { "Idempotency-Key": key });
		expect([first.status, sameDelay.status, otherDelay.status, noDelay.status]).toEqual([202, 200, 422, 422]);

		// An eta is compared as sent, not as the delay it works out to a moment later.
		const etaKey = crypto.randomUUID();
		const eta = new Date(Date.now() + 3_600_000).toISOString();
		const atEta = await postJson("/process-users", { user_ids: [1, 2], eta }, { "Idempotency-Key": etaKey });
		await new Promise((resolve) => setTimeout(resolve, 1100));
		const again = await postJson("/process-users", { user_ids: [1, 2], eta }, { "Idempotency-Key": etaKey });
		expect([atEta.status, again.status]).toEqual([202, 200]);
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
		const send = vi.spyOn(env.TASKS, "send");
		const before = await rowCounts();
		const res = await postJson("/send-email", body, { "Idempotency-Key": key });
		expect(res.status).toBe(400);
		expect(await res.json()).toMatchObject({
			error: {
				code: "validation_error",
				message: "Invalid request header",
				details: [{ path: "idempotency-key", message: "must be 1 to 255 printable ASCII characters" }],
			},
		});
		expect(send).not.toHaveBeenCalled();
		expect(await rowCounts()).toEqual(before);
	});
});

describe("Idempotency-Key on the bulk routes", () => {
	const users = (from: number, count: number) => ({
		user_ids: Array.from({ length: count }, (_, i) => from + i),
		delay_seconds: 3600,
	});

	/** sendBatch on the real queue, failing on the calls numbered in `failing` (1-based). */
	function failSendBatch(...failing: number[]) {
		const real = env.TASKS.sendBatch;
		let calls = 0;
		return vi.spyOn(env.TASKS, "sendBatch").mockImplementation(async (messages, options) => {
			if (failing.includes(++calls)) throw new Error("Queue sendBatch failed");
			return Reflect.apply(real, env.TASKS, [messages, options]);
		});
	}

	it("replays 1000 tasks: the same key and body return the same ids with 200 and enqueue nothing", async () => {
		const key = crypto.randomUUID();
		const first = await postJson("/process-users", users(20_000, 1000), { "Idempotency-Key": key });
		const sendBatch = vi.spyOn(env.TASKS, "sendBatch");
		const before = await rowCounts();

		const again = await postJson("/process-users", users(20_000, 1000), { "Idempotency-Key": key });

		expect(first.status).toBe(202);
		expect(again.status).toBe(200);
		const firstIds = (await first.json<{ task_ids: string[] }>()).task_ids;
		expect(firstIds).toHaveLength(1000);
		expect(await again.json()).toEqual({ task_ids: firstIds, status: "queued" });
		expect(sendBatch).not.toHaveBeenCalled();
		expect(await rowCounts()).toEqual(before);
	});

	it("replays on POST /send-emails too", async () => {
		const key = crypto.randomUUID();
		const messages = { messages: [body, { ...body, email: "grace@example.com" }], delay_seconds: 3600 };
		const first = await postJson("/send-emails", messages, { "Idempotency-Key": key });
		const again = await postJson("/send-emails", messages, { "Idempotency-Key": key });
		expect([first.status, again.status]).toEqual([202, 200]);
		expect(await again.json()).toEqual(await first.json());
	});

	it("refuses the key with a different list, or on another route, with 422", async () => {
		const key = crypto.randomUUID();
		await postJson("/process-users", users(21_000, 3), { "Idempotency-Key": key });
		const before = await rowCounts();

		const reordered = await postJson(
			"/process-users",
			{ ...users(21_000, 3), user_ids: [21_002, 21_001, 21_000] },
			{ "Idempotency-Key": key },
		);
		const single = await call("/process-user/21000", { method: "POST", headers: { "Idempotency-Key": key } });

		for (const res of [reordered, single]) {
			expect(res.status).toBe(422);
			expect(await res.json()).toMatchObject({ error: { code: "idempotency_key_reused" } });
		}
		expect(await rowCounts()).toEqual(before);
	});

	it("after a part-way failure, a retry with the key answers the same 503 and sends nothing again", async () => {
		const key = crypto.randomUUID();
		failSendBatch(3);
		const failed = await postJson("/process-users", users(22_000, 450), { "Idempotency-Key": key });
		vi.restoreAllMocks();
		const sendBatch = vi.spyOn(env.TASKS, "sendBatch");
		const before = await rowCounts();

		const retried = await postJson("/process-users", users(22_000, 450), { "Idempotency-Key": key });

		expect(failed.status).toBe(503);
		expect(retried.status).toBe(503);
		const first = await failed.json<{ error: { details: { enqueued: unknown[]; not_enqueued: unknown[] } } }>();
		const again = await retried.json<{ error: { details: unknown; message: string } }>();
		expect(first.error.details.enqueued).toHaveLength(200);
		expect(first.error.details.not_enqueued).toHaveLength(250);
		expect(again.error.details).toEqual(first.error.details);
		expect(again.error.message).toBe(
			"The task queue failed after 200 of 450 tasks; the rest were not enqueued and are recorded as FAILURE",
		);
		expect(sendBatch).not.toHaveBeenCalled();
		expect(await rowCounts()).toEqual(before);
	});

	it("when nothing reached the queue, releases the key so a retry with it enqueues", async () => {
		const key = crypto.randomUUID();
		failSendBatch(1);
		const failed = await postJson("/process-users", users(23_000, 5), { "Idempotency-Key": key });
		vi.restoreAllMocks();
		const sendBatch = vi.spyOn(env.TASKS, "sendBatch");

		const retried = await postJson("/process-users", users(23_000, 5), { "Idempotency-Key": key });

		expect(failed.status).toBe(503);
		expect(retried.status).toBe(202);
		const { task_ids } = await retried.json<{ task_ids: string[] }>();
		expect(sendBatch.mock.calls.flatMap(([messages]) => [...messages].map((m) => (m.body as { id: string }).id))).toEqual(
			task_ids,
		);
	});
});
