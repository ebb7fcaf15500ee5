// Messages that can never run are acked at once, recorded and logged; never retried.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";

import { deliver, recorded, taskRow } from "./helpers";

afterEach(() => vi.restoreAllMocks());

describe("poison messages", () => {
	it.each([
		["a string", "hello"],
		["null", null],
		["an object without an id", { name: "send_email", input: {} }],
		["a malformed id", { id: "42", name: "send_email", input: {} }],
	])("acks %s without retrying, logging the body truncated", async (_case, body) => {
		const warn = vi.spyOn(console, "warn");
		const { result, retried } = await deliver([body]);

		expect(result.explicitAcks).toHaveLength(1);
		expect(retried).toEqual([]);
		const line = JSON.parse(String(warn.mock.calls.at(-1)?.[0]));
		expect(line).toMatchObject({ level: "warn", msg: "poison message", reason: "message is not a task envelope" });
	});

	it("truncates a huge body in the log", async () => {
		const warn = vi.spyOn(console, "warn");
		await deliver(["x".repeat(100_000)]);
		const line = JSON.parse(String(warn.mock.calls.at(-1)?.[0]));
		expect(line.body.length).toBeLessThan(600);
		expect(line.body).toContain("(100000 chars)");
	});

	it("records FAILURE for an unknown task name", async () => {
		const envelope = await recorded("no_such_task", { x: 1 });
		const { result, retried } = await deliver([envelope]);

		expect(result.explicitAcks).toHaveLength(1);
		expect(retried).toEqual([]);
		expect(await taskRow(envelope.id)).toMatchObject({
			status: "FAILURE",
			error: 'unknown task "no_such_task"',
		});
	});

	it("records FAILURE for a payload that fails the task's schema, naming the fields", async () => {
		const send = vi.spyOn(env.MAILER, "send");
		const envelope = await recorded("send_email", { recipient: "not-an-address", subject: 7 });
		const { result, retried } = await deliver([envelope]);

		expect(result.explicitAcks).toHaveLength(1);
		expect(retried).toEqual([]);
		expect(send).not.toHaveBeenCalled();
		expect(await taskRow(envelope.id)).toMatchObject({
			status: "FAILURE",
			error: "invalid input for send_email: recipient, subject, body",
			attempts: 0,
		});
	});
});
