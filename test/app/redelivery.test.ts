// At-least-once delivery made safe: duplicates, concurrent deliveries, crashes
// between the side effect and the record, and D1 outages.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";

import { claimTask, deliver, failD1When, recorded, taskRow } from "./helpers";

afterEach(() => vi.restoreAllMocks());

const email = { recipient: "ada@example.com", subject: "Hi", body: "Body" };
const isSuccessWrite = (sql: string) => sql.includes("SET status = 'SUCCESS'");
const isClaim = (sql: string) => sql.includes("DO UPDATE SET status = 'STARTED'");

describe("redelivery", () => {
	it("the same message delivered twice runs the task once", async () => {
		const send = vi.spyOn(env.MAILER, "send");
		const envelope = await recorded("send_email", email);

		const first = await deliver([envelope]);
		const second = await deliver([envelope], { attempts: 2 });

		expect(first.result.explicitAcks).toHaveLength(1);
		expect(second.result.explicitAcks).toHaveLength(1);
		expect(send).toHaveBeenCalledTimes(1);
		expect(await taskRow(envelope.id)).toMatchObject({ status: "SUCCESS", attempts: 1 });
	});

	it("two copies in one batch run the task once; both are acked", async () => {
		const send = vi.spyOn(env.MAILER, "send");
		const envelope = await recorded("send_email", email);

		const { result } = await deliver([envelope, envelope]);

		expect(result.explicitAcks).toHaveLength(2);
		expect(send).toHaveBeenCalledTimes(1);
	});

	it("a delivery while another consumer holds a live lease is retried after the lease, not run", async () => {
		const send = vi.spyOn(env.MAILER, "send");
		const envelope = await recorded("send_email", email);
		await claimTask(envelope, 60); // another consumer is running it

		const { result, retried } = await deliver([envelope], { attempts: 2 });

		expect(result.explicitAcks).toEqual([]);
		expect(retried).toHaveLength(1);
		expect(retried[0]?.delaySeconds).toBeGreaterThanOrEqual(59);
		expect(retried[0]?.delaySeconds).toBeLessThanOrEqual(60);
		expect(send).not.toHaveBeenCalled();
		expect(await taskRow(envelope.id)).toMatchObject({ status: "STARTED", attempts: 1 });
	});

	it("a task whose consumer died (lease expired) is claimed again and finished", async () => {
		const envelope = await recorded("send_email", email);
		await claimTask(envelope, 60);
		await env.DB.prepare("UPDATE tasks SET lease_expires_at = 0 WHERE id = ?").bind(envelope.id).run();

		await deliver([envelope], { attempts: 2 });

		expect(await taskRow(envelope.id)).toMatchObject({ status: "SUCCESS", attempts: 2 });
	});

	it("a crash after the send, before SUCCESS, does not send a second email on redelivery", async () => {
		const send = vi.spyOn(env.MAILER, "send");
		const envelope = await recorded("send_email", email);

		// The send goes through, then recording SUCCESS fails: the consumer sees
		// an error, as if it had died there.
		const outage = failD1When(isSuccessWrite);
		const crashed = await deliver([envelope]);
		outage.mockRestore();
		expect(crashed.retried).toHaveLength(1);
		expect(await taskRow(envelope.id)).toMatchObject({ status: "STARTED" });
		const effect = await env.DB.prepare("SELECT value FROM task_effects WHERE task_id = ? AND key = 'email'")
			.bind(envelope.id)
			.first<{ value: string }>();
		expect(JSON.parse(effect?.value ?? "{}")).toMatchObject({
			message_id: `<task-${envelope.id}@edge-tasks.dev>`,
			provider_message_id: expect.stringMatching(/^<.+@edge-tasks\.dev>$/),
		});

		// Its lease runs out; the queue redelivers.
		await env.DB.prepare("UPDATE tasks SET lease_expires_at = 0 WHERE id = ?").bind(envelope.id).run();
		const redelivered = await deliver([envelope], { attempts: 2 });

		expect(redelivered.result.explicitAcks).toHaveLength(1);
		expect(send).toHaveBeenCalledTimes(1);
		expect(await taskRow(envelope.id)).toMatchObject({
			status: "SUCCESS",
			attempts: 2,
			result: "Email sent to ada@example.com",
		});
	});

	it("a failed write of the sent emails' record is tried again, so the batch still finishes with one email each", async () => {
		const send = vi.spyOn(env.MAILER, "send");
		const envelopes = [
			await recorded("send_email", email),
			await recorded("send_email", { ...email, recipient: "grace@example.com" }),
		];
		let failures = 0;
		failD1When((sql) => sql.includes("INSERT INTO task_effects") && failures++ < 2);

		const { result } = await deliver(envelopes);

		expect(failures).toBe(3); // two failed writes, then the one that stuck
		expect(result.explicitAcks).toHaveLength(2);
		expect(send).toHaveBeenCalledTimes(2);
		for (const { id } of envelopes) expect(await taskRow(id)).toMatchObject({ status: "SUCCESS", attempts: 1 });
	});

	it("a failed write of the outcomes with the sends' record writes the record on its own, then the outcomes", async () => {
		const send = vi.spyOn(env.MAILER, "send");
		const envelope = await recorded("send_email", email);
		let failures = 0;
		failD1When((sql) => sql.includes("SET status = 'SUCCESS'") && failures++ < 1);

		const { result } = await deliver([envelope]);

		expect(failures).toBe(2); // the write with the record failed, the outcomes alone stuck
		expect(result.explicitAcks).toHaveLength(1);
		expect(send).toHaveBeenCalledTimes(1);
		expect(await taskRow(envelope.id)).toMatchObject({ status: "SUCCESS", attempts: 1 });
		const effects = await env.DB.prepare("SELECT count(*) AS n FROM task_effects WHERE task_id = ?").bind(envelope.id).first();
		expect(effects).toEqual({ n: 1 });
	});

	it("a D1 outage while claiming retries the message: nothing is lost", async () => {
		const send = vi.spyOn(env.MAILER, "send");
		const envelope = await recorded("send_email", email);

		failD1When(isClaim);
		const { result, retried } = await deliver([envelope]);
		vi.restoreAllMocks();

		expect(result.explicitAcks).toEqual([]);
		expect(retried).toEqual([{ id: expect.any(String), delaySeconds: 2 }]);
		expect(send).not.toHaveBeenCalled();
		expect(await taskRow(envelope.id)).toMatchObject({ status: "PENDING", attempts: 0 });

		await deliver([envelope], { attempts: 2 });
		expect(await taskRow(envelope.id)).toMatchObject({ status: "SUCCESS" });
	});

	it.each(["SUCCESS", "FAILURE", "REVOKED"])("a redelivery for a %s task is acked without running", async (status) => {
		const send = vi.spyOn(env.MAILER, "send");
		const envelope = await recorded("send_email", email);
		await env.DB.prepare("UPDATE tasks SET status = ? WHERE id = ?").bind(status, envelope.id).run();

		const { result } = await deliver([envelope]);

		expect(result.explicitAcks).toHaveLength(1);
		expect(send).not.toHaveBeenCalled();
		expect(await taskRow(envelope.id)).toMatchObject({ status, attempts: 0 });
	});
});
