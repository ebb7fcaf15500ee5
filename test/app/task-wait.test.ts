// GET /tasks/:id?wait=N: one request that answers when the task finishes, or
// after N seconds with its state then; a bounded number of D1 reads meanwhile.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { call, postJson } from "./helpers";

afterEach(() => vi.restoreAllMocks());

const email = { email: "ada@example.com", subject: "Hi", body: "Body" };
const enqueue = async (extra: Record<string, unknown> = {}) =>
	(await (await postJson("/send-email", { ...email, ...extra })).json<{ task_id: string }>()).task_id;

describe("GET /tasks/:id?wait=", () => {
	it("answers SUCCESS in one request, as soon as the consumer has run the task", async () => {
		const id = await enqueue();
		const started = Date.now();
		const res = await call(`/tasks/${id}?wait=10`);
		expect(res.status).toBe(200);
		expect(await res.json()).toMatchObject({ task_id: id, status: "SUCCESS", result: "Email sent to ada@example.com" });
		expect(Date.now() - started).toBeLessThan(5000);
	});

	it("answers with the current state after the wait, reading D1 at most every 250 ms", async () => {
		const id = await enqueue({ delay_seconds: 600 });
		const prepare = vi.spyOn(env.DB, "prepare");
		const started = Date.now();
		const res = await call(`/tasks/${id}?wait=2`);
		const elapsed = Date.now() - started;
		expect(await res.json()).toMatchObject({ task_id: id, status: "PENDING" });
		expect(elapsed).toBeGreaterThanOrEqual(2000);
		expect(elapsed).toBeLessThan(4000);
		const reads = prepare.mock.calls.filter(([sql]) => sql.startsWith("select") && sql.includes('from "tasks"')).length;
		expect(reads).toBeGreaterThanOrEqual(2);
		expect(reads).toBeLessThanOrEqual(1 + 2000 / 250);
	});

	it("is 404 at once for an unknown task, and 400 for a wait out of range", async () => {
		expect((await call(`/tasks/${crypto.randomUUID()}?wait=5`)).status).toBe(404);
		for (const wait of ["0", "31", "1.5", "soon"])
			expect((await call(`/tasks/${crypto.randomUUID()}?wait=${wait}`)).status).toBe(400);
	});
});
