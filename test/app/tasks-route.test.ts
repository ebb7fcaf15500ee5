import { describe, expect, it } from "vitest";
import { insertPending } from "../../src/engine/store/tasks";
import { call, testContext } from "./helpers";

describe("GET /tasks/:task_id", () => {
	it("returns the recorded task", async () => {
		const id = crypto.randomUUID();
		await insertPending(testContext().db, { id, name: "process_user_data", payload: { user_id: 7 } });

		const res = await call(`/tasks/${id}`);
		expect(res.status).toBe(200);
		expect(await res.json()).toEqual({
			task_id: id,
			name: "process_user_data",
			status: "PENDING",
			result: null,
			error: null,
			attempts: 0,
			created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
			started_at: null,
			finished_at: null,
			due_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
			next_attempt_at: null,
			retry_of: null,
			callback_url: null,
			callback_task_id: null,
			workflow_id: null,
			waiting: null,
			history: [],
		});
	});

	it("answers 404 for an unknown id", async () => {
		const res = await call(`/tasks/${crypto.randomUUID()}`);
		expect(res.status).toBe(404);
		expect(await res.json()).toMatchObject({ error: { code: "not_found", message: "Task not found" } });
	});

	it("answers 400 for a malformed id", async () => {
		const res = await call("/tasks/not-a-uuid");
		expect(res.status).toBe(400);
		expect(await res.json()).toMatchObject({ error: { code: "validation_error", details: [{ path: "task_id" }] } });
	});
});

describe("GET /tasks query parameters", () => {
	it("answers 400 validation_error naming an unknown parameter, instead of listing everything", async () => {
		const res = await call("/tasks?stat=FAILURE");
		expect(res.status).toBe(400);
		const body = await res.json<{ error: { code: string; details: { path: string; message: string }[] } }>();
		expect(body.error.code).toBe("validation_error");
		expect(body.error.details).toEqual([expect.objectContaining({ message: expect.stringContaining('"stat"') })]);
	});

	it("still takes every documented parameter", async () => {
		const res = await call("/tasks?status=FAILURE&name=send_email&created_after=2026-01-01T00:00:00Z&limit=5");
		expect(res.status).toBe(200);
	});
});
