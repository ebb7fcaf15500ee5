// The whole path through the real queue: request -> Queue -> queue() -> D1 -> GET.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { call, postJson, waitForFinal } from "./helpers";

afterEach(() => vi.restoreAllMocks());

describe("end to end", () => {
	it("sends an email through the queue and reports SUCCESS", async () => {
		const send = vi.spyOn(env.MAILER, "send");
		const res = await postJson("/send-email", { email: "ada@example.com", subject: "Hello", body: "From the queue" });
		expect(res.status).toBe(202);
		const { task_id } = await res.json<{ task_id: string }>();

		await waitForFinal(task_id);
		const task = await call(`/tasks/${task_id}`);
		expect(await task.json()).toMatchObject({
			task_id,
			name: "send_email",
			status: "SUCCESS",
			result: "Email sent to ada@example.com",
			attempts: 1,
			error: null,
		});
		expect(send).toHaveBeenCalledTimes(1);
	});

	it("processes a user through the queue; the user reads back processed", async () => {
		const created = await postJson("/users", { email: "linus@example.com", name: "Linus" });
		const user = await created.json<{ id: number }>();

		const res = await call(`/process-user/${user.id}`, { method: "POST" });
		const { task_id } = await res.json<{ task_id: string }>();
		await waitForFinal(task_id);

		expect(await (await call(`/tasks/${task_id}`)).json()).toMatchObject({
			status: "SUCCESS",
			result: `Processed user ${user.id}`,
		});
		expect(await (await call(`/users/${user.id}`)).json()).toMatchObject({ processed: true });
	});
});
