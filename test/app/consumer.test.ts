// The queue() handler driven directly with createMessageBatch, against real D1.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";

import { createUser, deliver, recorded, taskRow } from "./helpers";

afterEach(() => vi.restoreAllMocks());

describe("queue consumer", () => {
	it("runs process_user_data and records SUCCESS with the seed's result", async () => {
		const user = await createUser();
		const envelope = await recorded("process_user_data", { user_id: user.id });

		const { batch, result } = await deliver([envelope]);

		expect(result.explicitAcks).toEqual([batch.messages[0]?.id]);
		expect(result.retryMessages).toEqual([]);
		const task = await taskRow(envelope.id);
		expect(task).toMatchObject({ status: "SUCCESS", result: `Processed user ${user.id}`, attempts: 1, error: null });
		expect(task?.startedAt).toBeInstanceOf(Date);
		expect(task?.finishedAt).toBeInstanceOf(Date);
		const row = await env.DB.prepare("SELECT processed FROM users WHERE id = ?").bind(user.id).first<{ processed: number }>();
		expect(row?.processed).toBe(1);
	});

	it("records SUCCESS with 'User <id> not found' for a missing user, as the seed does", async () => {
		const envelope = await recorded("process_user_data", { user_id: 99_999 });
		await deliver([envelope]);
		expect(await taskRow(envelope.id)).toMatchObject({ status: "SUCCESS", result: "User 99999 not found" });
	});

	it("sends the email and records 'Email sent to <recipient>'", async () => {
		const send = vi.spyOn(env.MAILER, "send");
		const envelope = await recorded("send_email", { recipient: "ada@example.com", subject: "Hi", body: "Body" });

		const { result } = await deliver([envelope]);

		expect(result.explicitAcks).toHaveLength(1);
		expect(send).toHaveBeenCalledTimes(1);
		expect(await taskRow(envelope.id)).toMatchObject({
			status: "SUCCESS",
			result: "Email sent to ada@example.com",
		});
	});

	it("records RETRY with the error when the task throws, and retries that message", async () => {
		vi.spyOn(env.MAILER, "send").mockRejectedValue(new Error("upstream timeout"));
		const envelope = await recorded("send_email", { recipient: "ada@example.com", subject: "Hi", body: "Body" });

		const { batch, result } = await deliver([envelope]);

		expect(result.explicitAcks).toEqual([]);
		expect(result.retryMessages.map((m) => m.msgId)).toEqual([batch.messages[0]?.id]);
		expect(await taskRow(envelope.id)).toMatchObject({
			status: "RETRY",
			error: "upstream timeout",
			attempts: 1,
		});
	});

	it("acks each message on its own: one failure does not hold back the batch", async () => {
		const user = await createUser();
		const good = await recorded("process_user_data", { user_id: user.id });
		const unknown = await recorded("no_such_task", {});
		const { batch, result } = await deliver([{ junk: true }, unknown, good]);

		expect(result.explicitAcks).toEqual(batch.messages.map((m) => m.id));
		expect(await taskRow(good.id)).toMatchObject({ status: "SUCCESS" });
		expect(await taskRow(unknown.id)).toMatchObject({
			status: "FAILURE",
			error: 'unknown task "no_such_task"',
		});
	});

	it("does not run a task that is already final", async () => {
		const send = vi.spyOn(env.MAILER, "send");
		const envelope = await recorded("send_email", { recipient: "ada@example.com", subject: "Hi", body: "Body" });
		await deliver([envelope]);
		await deliver([envelope]);

		expect(send).toHaveBeenCalledTimes(1);
		expect(await taskRow(envelope.id)).toMatchObject({ status: "SUCCESS", attempts: 1 });
	});
});
