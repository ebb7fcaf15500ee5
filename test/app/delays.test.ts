// Countdown (delay_seconds) and ETA on the enqueue routes, up to a year ahead:
// past the queue's 12 hours a task waits in D1 until the release sweep hands
// it to the queue with the delay left.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { recoverStuckTasks } from "../../src/engine/builtins/recover-stuck-tasks";
import { releaseDueTasks } from "../../src/engine/builtins/release-due-tasks";
import { takeOwed } from "../../src/engine/store/release";
import { sendEmail } from "../../src/tasks/send-email";
import { engineDb } from "../engine/harness";
import { call, deliver, postJson, rowCounts, sentFor, taskRow, testContext } from "./helpers";

afterEach(() => {
	vi.restoreAllMocks();
	vi.useRealTimers();
});

const release = () => testContext().tasks.apply(releaseDueTasks, {});

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
		["a delay over 365 days", { delay_seconds: 365 * 86_400 + 1 }, "delay_seconds"],
		["a negative delay", { delay_seconds: -1 }, "delay_seconds"],
		["an eta over 365 days ahead", { eta: new Date(Date.now() + 366 * 86_400_000).toISOString() }, "eta"],
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

describe("delays past the queue's 12 hours", () => {
	const DAY = 86_400_000;

	it("records the task PENDING with its due_at and no message, then releases it once, with the delay left", async () => {
		const send = vi.spyOn(env.TASKS, "send");
		const sendBatch = vi.spyOn(env.TASKS, "sendBatch");
		const before = Date.now();
		const res = await postJson("/send-email", { ...email, delay_seconds: 200_000 });
		expect(res.status).toBe(202);
		const { task_id } = await res.json<{ task_id: string }>();
		expect(send).not.toHaveBeenCalled();
		const read = await (await call(`/tasks/${task_id}`)).json<{ status: string; due_at: string }>();
		expect(read.status).toBe("PENDING");
		const due = Date.parse(read.due_at);
		expect(due).toBeGreaterThanOrEqual(before + 200_000_000);
		expect(due).toBeLessThan(Date.now() + 200_001_000);

		// A sweep while it is more than 12 hours away sends nothing.
		await release();
		expect(sentFor(sendBatch, task_id)).toEqual([]);

		// 30 s before it is due (a controlled clock), it goes with a 30 s delay; a second sweep, or two at once, send nothing more.
		vi.useFakeTimers({ toFake: ["Date"] });
		vi.setSystemTime(due - 30_000);
		await Promise.all([release(), release()]);
		await release();
		const sent = sentFor(sendBatch, task_id);
		expect(sent).toHaveLength(1);
		expect(sent[0]?.delaySeconds).toBe(30);
		vi.useRealTimers();

		// The message arrives when it is due: the task runs once.
		await deliver([sent[0]?.body]);
		expect(await taskRow(task_id)).toMatchObject({ status: "SUCCESS", attempts: 1 });
	});

	it("can be revoked while it waits, and is then never sent", async () => {
		const sendBatch = vi.spyOn(env.TASKS, "sendBatch");
		const { task_id } = await (await postJson("/send-email", { ...email, delay_seconds: 30 * 86_400 })).json<{
			task_id: string;
		}>();
		expect((await call(`/tasks/${task_id}`, { method: "DELETE" })).status).toBe(200);
		vi.useFakeTimers({ toFake: ["Date"] });
		vi.setSystemTime(Date.now() + 31 * DAY);
		await release();
		expect(sentFor(sendBatch, task_id)).toEqual([]);
		expect((await taskRow(task_id))?.status).toBe("REVOKED");
	});

	it("is sent once when the sweep dies between taking it and sending it: recovery sends it, and the sweep does not", async () => {
		const sendBatch = vi.spyOn(env.TASKS, "sendBatch");
		const { task_id } = await (await postJson("/send-email", { ...email, delay_seconds: 2 * 86_400 })).json<{
			task_id: string;
		}>();
		vi.useFakeTimers({ toFake: ["Date"] });
		const due = (await taskRow(task_id))?.dueAt?.getTime() ?? 0;
		// The sweep took it (the flag is cleared in the same statement) and died before sending.
		vi.setSystemTime(due - 60_000);
		const taken = await takeOwed(engineDb(), new Date(due), new Date(), { ids: [task_id], limit: 10 });
		expect(taken.map((t) => t.id)).toEqual([task_id]);
		await release();
		expect(sentFor(sendBatch, task_id)).toEqual([]);
		// Long past due with no message, taken before anything the queue still
		// holds was sent: stuck-task recovery sends it, once.
		await env.DB.prepare("UPDATE tasks SET created_at = 1, updated_at = 1 WHERE id = ?").bind(task_id).run();
		vi.setSystemTime(due + 3600_000);
		await testContext().tasks.apply(recoverStuckTasks, {});
		await testContext().tasks.apply(recoverStuckTasks, {});
		await release();
		expect(sentFor(sendBatch, task_id)).toHaveLength(1);
	});

	it("is given back when the queue refuses the send, and sent by the sweep's retry, once", async () => {
		const { task_id } = await (await postJson("/send-email", { ...email, delay_seconds: 3 * 86_400 })).json<{
			task_id: string;
		}>();
		const sendBatch = vi.spyOn(env.TASKS, "sendBatch");
		sendBatch.mockRejectedValueOnce(new Error("Queue send failed: overloaded"));
		vi.useFakeTimers({ toFake: ["Date"] });
		vi.setSystemTime(Date.now() + 3 * DAY);
		// The sweep fails, gives the task back, and its retry sends it.
		const sweep = await release();
		expect(sweep).toMatchObject({ status: "SUCCESS", attempts: 2, result: { released: 1 } });
		expect(sweep.history[0]?.error).toBe("Queue send failed: overloaded");
		await release();
		// The refused call, and the one that went.
		expect(sentFor(sendBatch, task_id)).toHaveLength(2);
		expect((await taskRow(task_id))?.unsent).toBeNull();
	});

	it("fails a released step whose input grew past a queue message, and sends the rest of the sweep", async () => {
		const sendBatch = vi.spyOn(env.TASKS, "sendBatch");
		const { taskIds } = await testContext().tasks.enqueueWorkflow(
			{
				chain: [
					{ task: sendEmail, input: { recipient: "a@example.com", subject: "Hi", body: "x" } },
					{ task: sendEmail, input: { recipient: "b@example.com", subject: "Hi" }, resultAs: "body" },
				],
			},
			{ delaySeconds: 600 },
		);
		// As the trigger would release it after a 200 KB result.
		await env.DB.prepare("UPDATE tasks SET due_at = ?, payload = json_set(payload, '$.body', ?) WHERE id = ?")
			.bind(Date.now(), "x".repeat(200_000), taskIds[1])
			.run();
		const { task_id } = await (await postJson("/send-email", { ...email, delay_seconds: 2 * 86_400 })).json<{
			task_id: string;
		}>();
		vi.useFakeTimers({ toFake: ["Date"] });
		vi.setSystemTime(Date.now() + 2 * DAY);
		await release();
		expect(await taskRow(taskIds[1] ?? "")).toMatchObject({
			status: "FAILURE",
			error: expect.stringMatching(/^input too large/),
		});
		expect(sentFor(sendBatch, task_id)).toHaveLength(1);
	});
});
