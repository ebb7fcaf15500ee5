// Countdown (delay_seconds) and ETA on the enqueue routes.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";

import { call, postJson, rowCounts, taskRow } from "./helpers";

afterEach(() => vi.restoreAllMocks());

const email = { email: "ada@example.com", subject: "Hi", body: "Hello" };

describe("delays", () => {
	it("passes delay_seconds to the queue and records when the task is due", async () => {
		const send = vi.spyOn(env.TASKS, "send");
		const before = Date.now();
		const res = await postJson("/send-email", { ...email, delay_seconds: 90 });
		const { task_id } = await res.json<{ task_id: string }>();

		expect(send.mock.calls[0]?.[1]).toMatchObject({ delaySeconds: 90 });
		const task = await taskRow(task_id);
		expect(task?.dueAt?.getTime()).toBeGreaterThanOrEqual(before + 90_000);
		expect(task?.dueAt?.getTime()).toBeLessThan(Date.now() + 91_000);
	});

	it("converts an eta to a delay", async () => {
		const send = vi.spyOn(env.TASKS, "send");
		const eta = new Date(Date.now() + 120_000).toISOString();
		await call("/process-user/3", {
			method: "POST",
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ eta }),
		});
		const delay = send.mock.calls[0]?.[1]?.delaySeconds ?? -1;
		expect(delay).toBeGreaterThanOrEqual(119);
		expect(delay).toBeLessThanOrEqual(120);
	});

	it("treats an eta in the past as now", async () => {
		const send = vi.spyOn(env.TASKS, "send");
		await postJson("/send-email", { ...email, eta: "2001-01-01T00:00:00Z" });
		expect(send.mock.calls[0]?.[1]).toMatchObject({ delaySeconds: 0 });
	});

	it.each([
		["a delay over 12 hours", { delay_seconds: 43_201 }, "delay_seconds"],
		["a negative delay", { delay_seconds: -1 }, "delay_seconds"],
		["an eta over 12 hours ahead", { eta: new Date(Date.now() + 13 * 3600_000).toISOString() }, "eta"],
		["an eta that is not ISO 8601", { eta: "tomorrow" }, "eta"],
		["both delay_seconds and eta", { delay_seconds: 5, eta: new Date().toISOString() }, "eta"],
	])("rejects %s with 400 and writes nothing", async (_case, schedule, path) => {
		const send = vi.spyOn(env.TASKS, "send");
		const before = await rowCounts();
		const res = await postJson("/send-email", { ...email, ...schedule });
		expect(res.status).toBe(400);
		expect(await res.json()).toMatchObject({ error: { code: "validation_error", details: [{ path }] } });
		expect(await rowCounts()).toEqual(before);
		expect(send).not.toHaveBeenCalled();
	});
});
