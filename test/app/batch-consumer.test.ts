// The consumer works per batch: D1 round trips per batch are constant, emails
// go out concurrently within a bound, and tasks enqueued without a row are
// visible, revocable and recorded once a consumer sees them.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { countingD1, type D1Counts } from "../../bench/worker/d1-counter";
import { sendEmail } from "../../src/tasks/send-email";

import { call, createUser, deliver, failD1When, taskRow } from "./helpers";

afterEach(() => vi.restoreAllMocks());

const envelope = (name: string, input: unknown) => ({ id: crypto.randomUUID(), name, input });
const email = (i: number) => envelope("send_email", { recipient: `u${i}@example.com`, subject: "Hi", body: "Body" });

async function counted(bodies: unknown[]) {
	const counts: D1Counts = { roundTrips: 0, statements: 0 };
	const delivered = await deliver(bodies, { env: { ...env, DB: countingD1(env.DB, counts) } });
	return { ...delivered, counts };
}

describe("D1 round trips per batch (counted at the binding)", () => {
	it("100 process_user_data tasks: the claim, one UPDATE for every user and the outcomes in one transaction", async () => {
		const users = await Promise.all(Array.from({ length: 99 }, () => createUser()));
		const missing = 2 ** 40;
		const bodies = [...users.map((user) => user.id), missing].map((id) => envelope("process_user_data", { user_id: id }));

		const { result, counts } = await counted(bodies);

		expect(result.explicitAcks).toHaveLength(100);
		expect(counts.roundTrips).toBe(1);
		expect(await taskRow(bodies[0]?.id ?? "")).toMatchObject({ result: `Processed user ${users[0]?.id}` });
		expect(await taskRow(bodies[99]?.id ?? "")).toMatchObject({ status: "SUCCESS", result: `User ${missing} not found` });
		const processed = await env.DB.prepare(
			`SELECT count(*) AS n FROM users WHERE processed = 1 AND id IN (${users.map((u) => u.id).join(",")})`,
		).first<{ n: number }>();
		expect(processed?.n).toBe(99);
		for (const body of bodies.slice(0, 3)) {
			expect(await taskRow(body.id)).toMatchObject({ status: "SUCCESS", attempts: 1 });
		}
	});

	it("100 emails: claim, then the sends' record and the outcomes in one transaction", async () => {
		const send = vi.spyOn(env.MAILER, "send");
		const bodies = Array.from({ length: 100 }, (_, i) => email(i));
		const { result, counts } = await counted(bodies);
		expect(result.explicitAcks).toHaveLength(100);
		expect(counts.roundTrips).toBe(2);
		expect(send).toHaveBeenCalledTimes(100);
		const ids = JSON.stringify(bodies.map((body) => body.id));
		const recorded = await env.DB.prepare(
			`SELECT (SELECT count(*) FROM tasks WHERE status = 'SUCCESS' AND id IN (SELECT value FROM json_each(?1))) AS succeeded,
				(SELECT count(*) FROM task_effects WHERE key = 'email' AND task_id IN (SELECT value FROM json_each(?1))) AS effects`,
		)
			.bind(ids)
			.first();
		expect(recorded).toEqual({ succeeded: 100, effects: 100 });
	});

	it("a redelivered batch of finished tasks costs one round trip and runs nothing", async () => {
		const bodies = Array.from({ length: 10 }, (_, i) => email(i));
		await deliver(bodies);
		const send = vi.spyOn(env.MAILER, "send");

		const { result, counts } = await counted(bodies);

		expect(result.explicitAcks).toHaveLength(10);
		expect(send).not.toHaveBeenCalled();
		expect(counts.roundTrips).toBe(1);
	});
});

describe("bounded concurrency", () => {
	it("send_email runs 6 at a time, the engine's default (test/engine/concurrency.test.ts)", () => {
		expect(sendEmail.concurrency).toBe(6);
	});
});

describe("leases", () => {
	it("cover the waves a batch needs: 12 emails 6 at a time hold 2 timeouts; a per-batch task holds 1", async () => {
		const users = await Promise.all(Array.from({ length: 12 }, () => createUser()));
		const emails = Array.from({ length: 12 }, (_, i) => email(i));
		const processes = users.map((user) => envelope("process_user_data", { user_id: user.id }));
		// Keep the runs STARTED, as a consumer that died before recording them would.
		failD1When((sql) => sql.includes("SET status = 'SUCCESS'"));
		await deliver([...emails, ...processes]);
		vi.restoreAllMocks();

		const lease = async (id: string) => {
			const row = await taskRow(id);
			return ((row?.leaseExpiresAt?.getTime() ?? 0) - (row?.startedAt?.getTime() ?? 0)) / 1000;
		};
		expect(await lease(emails[0]?.id ?? "")).toBe(2 * sendEmail.timeoutSeconds);
		expect(await lease(processes[0]?.id ?? "")).toBe(300);
	});
});

describe("tasks enqueued without a row", () => {
	it("read as PENDING with a null name until a consumer records them", async () => {
		const res = await call("/process-user/7", { method: "POST" });
		const { task_id } = await res.json<{ task_id: string }>();

		const pending = await call(`/tasks/${task_id}`);
		expect(pending.status).toBe(200);
		const body = await pending.json<{ created_at: string }>();
		expect(body).toMatchObject({ task_id, status: "PENDING", name: null, attempts: 0, result: null });
		expect(Math.abs(Date.parse(body.created_at) - Date.now())).toBeLessThan(60_000);
	});

	it("an unknown id is 404: not a time-ordered id of ours, or older than the queue's retention", async () => {
		expect((await call(`/tasks/${crypto.randomUUID()}`)).status).toBe(404);
		// A UUIDv7 minted in 2020.
		expect((await call("/tasks/016f5e66-e800-7000-8000-000000000000")).status).toBe(404);
	});

	it("can be revoked before any consumer sees them; the message is then acked unrun and fills in the row", async () => {
		const sendMail = vi.spyOn(env.MAILER, "send");
		const sendMessage = vi.spyOn(env.TASKS, "send");
		const res = await call("/send-email", {
			method: "POST",
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ email: "ada@example.com", subject: "Hi", body: "Body" }),
		});
		const { task_id } = await res.json<{ task_id: string }>();

		const revoked = await call(`/tasks/${task_id}`, { method: "DELETE" });
		expect(revoked.status).toBe(200);
		expect(await revoked.json()).toMatchObject({ task_id, status: "REVOKED", name: null });
		expect((await call(`/tasks/${task_id}`, { method: "DELETE" })).status).toBe(409);
		// Until its message arrives the input is not known, so there is nothing to retry yet.
		const early = await call(`/tasks/${task_id}/retry`, { method: "POST" });
		expect(early.status).toBe(409);
		expect(await early.json()).toMatchObject({ error: { message: expect.stringContaining("revoked before it was consumed") } });

		const { result } = await deliver([sendMessage.mock.calls[0]?.[0]]);

		expect(result.explicitAcks).toHaveLength(1);
		expect(sendMail).not.toHaveBeenCalled();
		expect(await taskRow(task_id)).toMatchObject({
			status: "REVOKED",
			name: "send_email",
			payload: { recipient: "ada@example.com", subject: "Hi", body: "Body" },
		});
		expect((await call(`/tasks/${task_id}/retry`, { method: "POST" })).status).toBe(202);
	});

	it("a dead letter with no row is recorded as FAILURE", async () => {
		const body = email(1);
		await deliver([body], { queue: "edge-tasks-dev-dlq" });
		expect(await taskRow(body.id)).toMatchObject({
			status: "FAILURE",
			name: "send_email",
			error: "dead-lettered",
		});
	});
});
