// UUIDs are case-insensitive (Swift's UUID().uuidString is upper case), and D1
// compares text exactly: every boundary takes a task id in any case.
import { v7 } from "uuid";
import { afterEach, describe, expect, it, vi } from "vitest";
import { call, postJson, taskRow, waitForFinal } from "./helpers";

afterEach(() => vi.restoreAllMocks());

const email = { email: "ada@example.com", subject: "Hi", body: "Body" };

async function enqueue(extra: Record<string, unknown> = {}) {
	const res = await postJson("/send-email", { ...email, ...extra });
	return (await res.json<{ task_id: string }>()).task_id;
}

describe("task ids in upper case", () => {
	it("GET reads the same task", async () => {
		const id = await enqueue();
		await waitForFinal(id);
		const res = await call(`/tasks/${id.toUpperCase()}`);
		expect(await res.json()).toMatchObject({ task_id: id, name: "send_email", status: "SUCCESS" });
	});

	it("DELETE revokes the task itself, which then never runs", async () => {
		const id = await enqueue({ delay_seconds: 600 });
		const res = await call(`/tasks/${id.toUpperCase()}`, { method: "DELETE" });
		expect(res.status).toBe(200);
		expect(await res.json()).toMatchObject({ task_id: id, status: "REVOKED" });
		expect(await taskRow(id)).toMatchObject({ status: "REVOKED" });
		expect(await taskRow(id.toUpperCase())).toBeUndefined();
	});

	it("retry finds the original", async () => {
		const id = await enqueue({ delay_seconds: 600 });
		await call(`/tasks/${id}`, { method: "DELETE" });
		const res = await call(`/tasks/${id.toUpperCase()}/retry`, { method: "POST" });
		expect(res.status).toBe(202);
		const { task_id } = await res.json<{ task_id: string }>();
		expect(await taskRow(task_id)).toMatchObject({ retryOf: id });
	});
});

describe("a made-up task id", () => {
	it("well-formed and recent, but never issued: GET and DELETE are 404, and nothing is written", async () => {
		const id = v7();
		expect((await call(`/tasks/${id}`)).status).toBe(404);
		expect((await call(`/tasks/${id}`, { method: "DELETE" })).status).toBe(404);
		expect(await taskRow(id)).toBeUndefined();
	});
});
