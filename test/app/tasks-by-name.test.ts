// POST /tasks and POST /tasks/bulk: any callable task by name, validated by
// its own schema, answered as the per-task routes answer.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { call, createUser, postJson, rowCounts, waitForFinal } from "./helpers";

afterEach(() => vi.restoreAllMocks());

const email = { recipient: "ada@example.com", subject: "Hi", body: "Body" };

describe("POST /tasks", () => {
	it("enqueues a task by name: 202, Location, and the consumer runs it", async () => {
		const res = await postJson("/tasks", { name: "send_email", input: email });
		expect(res.status).toBe(202);
		const { task_id, status } = await res.json<{ task_id: string; status: string }>();
		expect(status).toBe("queued");
		expect(res.headers.get("Location")).toBe(`/tasks/${task_id}`);
		expect(await waitForFinal(task_id)).toMatchObject({ name: "send_email", status: "SUCCESS" });
	});

	it("validates the input with the task's own schema: 400 naming the field, nothing written or sent", async () => {
		const send = vi.spyOn(env.TASKS, "send");
		const before = await rowCounts();
		const res = await postJson("/tasks", { name: "send_email", input: { ...email, recipient: "nobody" } });
		expect(res.status).toBe(400);
		const { error } = await res.json<{ error: { code: string; details: { path: string }[] } }>();
		expect(error.code).toBe("validation_error");
		expect(error.details.map((d) => d.path)).toContain("input.recipient");
		expect(send).not.toHaveBeenCalled();
		expect(await rowCounts()).toEqual(before);
	});

	it("an unknown or internal name is 400 unknown_task, listing the callable names", async () => {
		for (const name of ["resize_image", "recover_stuck_tasks", "deliver_webhook"]) {
			const res = await postJson("/tasks", { name, input: {} });
			expect(res.status).toBe(400);
			const { error } = await res.json<{ error: { code: string; details: { callable: string[] } } }>();
			expect(error.code).toBe("unknown_task");
			expect(error.details.callable).toEqual([
				"send_email",
				"process_user_data",
				"process_pending_users",
				"daily_summary",
				"send_report",
			]);
		}
	});

	it("takes delays and Idempotency-Key as the per-task routes do", async () => {
		const key = crypto.randomUUID();
		const body = { name: "process_user_data", input: { user_id: 1 }, delay_seconds: 600 };
		const first = await postJson("/tasks", body, { "Idempotency-Key": key });
		const again = await postJson("/tasks", body, { "Idempotency-Key": key });
		expect([first.status, again.status]).toEqual([202, 200]);
		const { task_id } = await first.json<{ task_id: string }>();
		expect(await again.json()).toMatchObject({ task_id });
		const task = await (await call(`/tasks/${task_id}`)).json<{ status: string; due_at: string }>();
		expect(task.status).toBe("PENDING");
		expect(Date.parse(task.due_at)).toBeGreaterThan(Date.now() + 500_000);
	});

	it("is rate limited like any enqueue", async () => {
		vi.spyOn(env.ENQUEUE_LIMITER, "limit").mockResolvedValue({ success: false });
		expect((await postJson("/tasks", { name: "send_email", input: email })).status).toBe(429);
	});
});

describe("POST /tasks/bulk", () => {
	it("enqueues mixed names in one request, ids in input order", async () => {
		const user = await createUser();
		const res = await postJson("/tasks/bulk", {
			tasks: [
				{ name: "send_email", input: email },
				{ name: "process_user_data", input: { user_id: user.id } },
			],
		});
		expect(res.status).toBe(202);
		const { task_ids } = await res.json<{ task_ids: string[] }>();
		expect(task_ids).toHaveLength(2);
		expect(await waitForFinal(task_ids[0] ?? "")).toMatchObject({ name: "send_email", status: "SUCCESS" });
		expect(await waitForFinal(task_ids[1] ?? "")).toMatchObject({ name: "process_user_data", status: "SUCCESS" });
	});

	it("is all or nothing: one bad item and nothing is written; unknown names are listed by index", async () => {
		const before = await rowCounts();
		const bad = await postJson("/tasks/bulk", {
			tasks: [
				{ name: "send_email", input: email },
				{ name: "send_email", input: { ...email, subject: "" } },
			],
		});
		expect(bad.status).toBe(400);
		const unknown = await postJson("/tasks/bulk", {
			tasks: [
				{ name: "send_email", input: email },
				{ name: "expire_results", input: {} },
			],
		});
		expect(unknown.status).toBe(400);
		expect(await unknown.json()).toMatchObject({
			error: { code: "unknown_task", details: { unknown: [{ index: 1, name: "expire_results" }] } },
		});
		expect(await rowCounts()).toEqual(before);
	});

	it("replays under an Idempotency-Key, and the same key with other names is 422", async () => {
		const key = crypto.randomUUID();
		const items = [
			{ name: "process_user_data", input: { user_id: 1 } },
			{ name: "process_user_data", input: { user_id: 2 } },
		];
		const first = await postJson("/tasks/bulk", { tasks: items }, { "Idempotency-Key": key });
		const again = await postJson("/tasks/bulk", { tasks: items }, { "Idempotency-Key": key });
		expect([first.status, again.status]).toEqual([202, 200]);
		expect(await again.json()).toEqual(await first.json());
		const other = await postJson(
			"/tasks/bulk",
			{ tasks: [{ name: "daily_summary", input: { hours: 1 } }, items[1]] },
			{ "Idempotency-Key": key },
		);
		expect(other.status).toBe(422);
	});
});

describe("the OpenAPI document", () => {
	it("describes each callable task's input, discriminated by name, with no route written for it", async () => {
		const doc = await (await call("/openapi.json", { headers: { Authorization: "" } })).json<{
			paths: Record<string, Record<string, { requestBody: { content: { "application/json": { schema: { $ref: string } } } } }>>;
			components: { schemas: Record<string, { oneOf?: { $ref: string }[]; discriminator?: unknown }> };
		}>();
		const ref = doc.paths["/tasks"]?.post?.requestBody.content["application/json"].schema.$ref ?? "";
		const union = doc.components.schemas[ref.split("/").at(-1) ?? ""];
		expect(union?.oneOf?.map((o) => o.$ref.split("/").at(-1))).toEqual([
			"EnqueueSendEmail",
			"EnqueueProcessUserData",
			"EnqueueProcessPendingUsers",
			"EnqueueDailySummary",
			"EnqueueSendReport",
		]);
		expect(doc.paths["/tasks/bulk"]?.post).toBeDefined();
	});
});
