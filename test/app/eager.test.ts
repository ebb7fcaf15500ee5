// Eager mode: the seed's task.apply(), with the same state recording as the consumer.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { InvalidInputError } from "../../src/engine";
import { processUserData } from "../../src/tasks/process-user-data";
import { sendEmail } from "../../src/tasks/send-email";

import { createUser, rowCounts, taskRow, testContext } from "./helpers";

afterEach(() => vi.restoreAllMocks());

describe("eager mode", () => {
	it("runs send_email in-process and returns the finished task", async () => {
		const task = await testContext().tasks.apply(sendEmail, { recipient: "test@example.com", subject: "Test", body: "Body" });
		expect(task).toMatchObject({ name: "send_email", status: "SUCCESS", result: "Email sent to test@example.com", attempts: 1 });
		expect(await taskRow(task.id)).toEqual(task);
	});

	it("runs process_user_data against D1", async () => {
		const user = await createUser();
		const task = await testContext().tasks.apply(processUserData, { user_id: user.id });
		expect(task).toMatchObject({ status: "SUCCESS", result: `Processed user ${user.id}` });
		const row = await env.DB.prepare("SELECT processed FROM users WHERE id = ?").bind(user.id).first<{ processed: number }>();
		expect(row?.processed).toBe(1);
	});

	it("records FAILURE when the task throws", async () => {
		vi.spyOn(env.MAILER, "send").mockRejectedValue(new Error("mailbox full"));
		const task = await testContext().tasks.apply(sendEmail, { recipient: "test@example.com", subject: "Test", body: "Body" });
		expect(task).toMatchObject({ status: "FAILURE", error: "mailbox full", result: null });
	});

	it("validates input with the task's schema before writing anything", async () => {
		const before = await rowCounts();
		await expect(testContext().tasks.apply(processUserData, { user_id: -1 })).rejects.toBeInstanceOf(InvalidInputError);
		expect(await rowCounts()).toEqual(before);
	});
});
