// An Idempotency-Key replay must never answer 200 for a task that will not
// run: while the first request is still sending, a replay is told to wait
// (409, Retry-After); once its send failed, the key is free again.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { failD1When, postJson, taskRow } from "./helpers";

afterEach(() => vi.restoreAllMocks());

const body = { email: "ada@example.com", subject: "Welcome", body: "Hello" };

/** Holds queue sends until released; then each fails or goes through as told. */
function gateSends(outcome: "fail" | "pass") {
	let release = () => {};
	const released = new Promise<void>((resolve) => {
		release = resolve;
	});
	const real = env.TASKS.send.bind(env.TASKS);
	const send = vi.spyOn(env.TASKS, "send").mockImplementation(async (message, options) => {
		await released;
		if (outcome === "fail") throw new Error("Queue send failed: overloaded");
		return real(message, options);
	});
	return { send, release };
}

describe("Idempotency-Key while the first request is sending", () => {
	it("a replay meanwhile answers 409 with Retry-After; after the send failed, the key enqueues anew", async () => {
		const key = crypto.randomUUID();
		const gate = gateSends("fail");
		const first = postJson("/send-email", body, { "Idempotency-Key": key });
		await vi.waitUntil(() => gate.send.mock.calls.length === 1);

		const meanwhile = await postJson("/send-email", body, { "Idempotency-Key": key });
		expect(meanwhile.status).toBe(409);
		expect(meanwhile.headers.get("Retry-After")).toBe("1");
		expect(await meanwhile.json()).toMatchObject({ error: { code: "conflict" } });

		gate.release();
		expect((await first).status).toBe(503);
		vi.restoreAllMocks();

		const again = await postJson("/send-email", body, { "Idempotency-Key": key });
		expect(again.status).toBe(202);
	});

	it("a replay after the send went through answers 200 with the same task", async () => {
		const key = crypto.randomUUID();
		const gate = gateSends("pass");
		const first = postJson("/send-email", body, { "Idempotency-Key": key });
		await vi.waitUntil(() => gate.send.mock.calls.length === 1);
		expect((await postJson("/send-email", body, { "Idempotency-Key": key })).status).toBe(409);
		gate.release();
		const { task_id } = await (await first).json<{ task_id: string }>();

		const replay = await postJson("/send-email", body, { "Idempotency-Key": key });
		expect(replay.status).toBe(200);
		expect(await replay.json()).toMatchObject({ task_id });
	});

	it("a key whose release failed after a failed send does not replay the FAILURE task as 200", async () => {
		const key = crypto.randomUUID();
		vi.spyOn(env.TASKS, "send").mockRejectedValue(new Error("Queue send failed: overloaded"));
		// The release, not the claim's clearing of an expired key.
		failD1When((sql) => sql.startsWith('delete from "idempotency_keys"') && !sql.includes("expires_at"));
		const first = await postJson("/send-email", body, { "Idempotency-Key": key });
		expect(first.status).toBe(503);
		vi.restoreAllMocks();

		const retry = await postJson("/send-email", body, { "Idempotency-Key": key });
		expect(retry.status).toBe(202);
		const { task_id } = await retry.json<{ task_id: string }>();
		expect(await taskRow(task_id)).toMatchObject({ status: "PENDING" });
	});

	it("bulk: a replay while the first request is sending answers 409, not 200", async () => {
		const key = crypto.randomUUID();
		let release = () => {};
		const released = new Promise<void>((resolve) => {
			release = resolve;
		});
		const sendBatch = vi.spyOn(env.TASKS, "sendBatch").mockImplementation(async () => {
			await released;
			throw new Error("Queue sendBatch failed: overloaded");
		});
		const users = { user_ids: [1, 2, 3] };
		const first = postJson("/process-users", users, { "Idempotency-Key": key });
		await vi.waitUntil(() => sendBatch.mock.calls.length === 1);

		expect((await postJson("/process-users", users, { "Idempotency-Key": key })).status).toBe(409);
		release();
		expect((await first).status).toBe(503);
	});
});
