// Completion webhooks: a task enqueued with callback_url has its body POSTed
// there, signed, once it is final, by a deliver_webhook task of its own. Every
// fetch() the Worker makes lands on test/app/webhook-receiver-worker.ts.
// Signatures are checked with the Standard Webhooks reference library.
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ConfigError, parseEngineConfig } from "../../src/engine";
import { recoverStuckTasks } from "../../src/engine/builtins/recover-stuck-tasks";
import { createScopes } from "../../src/engine/engine";
import { dispatchWebhooks } from "../../src/engine/webhooks/dispatch";
import { engineOptions } from "../../src/index";
import { sendEmail } from "../../src/tasks/send-email";
import { call, createUser, deliver, postJson, rowCounts, taskRow, testContext, waitForFinal } from "./helpers";

afterEach(() => vi.restoreAllMocks());

const receiver = env.WEBHOOK_RECEIVER;
const email = { email: "ada@example.com", subject: "Hi", body: "Body" };

/** A fresh receiver path on an allowed host, so tests never read each other's requests. */
function hook(host = "hooks.example.com") {
	const path = `/hooks/${crypto.randomUUID()}`;
	return { path, url: `https://${host}${path}` };
}

async function enqueue(body: Record<string, unknown>, route = "/send-email") {
	const res = await postJson(route, body);
	expect(res.status).toBe(202);
	return (await res.json<{ task_id: string }>()).task_id;
}

/** The task's deliver_webhook task, once dispatched. */
async function deliveryOf(taskId: string): Promise<string> {
	return vi.waitUntil(async () => (await taskRow(taskId))?.callbackTaskId ?? undefined, { timeout: 5000, interval: 20 });
}

async function received(path: string, count = 1) {
	return vi.waitUntil(
		async () => {
			const list = await receiver.received(path);
			return list.length >= count ? list : undefined;
		},
		{ timeout: 5000, interval: 20 },
	);
}

/** The body as the reference library reads it: throws unless the signature holds. */
const verified = (request: { body: string; headers: Record<string, string> }) =>
	new Webhook(env.WEBHOOK_SECRET).verify(request.body, request.headers);

describe("delivery", () => {
	it("posts a finished task's body, signed, with the task's id as webhook-id", async () => {
		const { path, url } = hook();
		const id = await enqueue({ ...email, callback_url: url });
		await waitForFinal(id);
		const delivery = await deliveryOf(id);
		expect(await waitForFinal(delivery)).toMatchObject({ name: "deliver_webhook", status: "SUCCESS" });

		const [request, ...more] = await received(path);
		expect(more).toEqual([]);
		expect(request?.url).toBe(url);
		expect(request?.headers).toMatchObject({ "content-type": "application/json", "webhook-id": id });
		const body = verified(request as NonNullable<typeof request>);
		// The same body GET /tasks/:id answers.
		expect(body).toEqual(await (await call(`/tasks/${id}`)).json());
		expect(body).toMatchObject({ task_id: id, status: "SUCCESS", callback_url: url, callback_task_id: delivery });
		// Tampering is caught.
		expect(() =>
			verified({ ...(request as NonNullable<typeof request>), body: request?.body.replace("SUCCESS", "FAILURE") ?? "" }),
		).toThrow();
	});

	it("reports a FAILURE and a REVOKED task too", async () => {
		const failed = hook();
		const id = await enqueue({ ...email, callback_url: failed.url, delay_seconds: 3600 });
		// The last allowed attempt, and a mail server that refuses it.
		await env.DB.prepare("UPDATE tasks SET attempts = ? WHERE id = ?").bind(sendEmail.retry.maxRetries, id).run();
		vi.spyOn(env.MAILER, "send").mockRejectedValue(new Error("mail server down"));
		await deliver([{ id, name: "send_email", input: { recipient: "ada@example.com", subject: "Hi", body: "Body" } }]);
		expect((await taskRow(id))?.status).toBe("FAILURE");
		const [failure] = await received(failed.path);
		expect(verified(failure as NonNullable<typeof failure>)).toMatchObject({
			task_id: id,
			status: "FAILURE",
			error: "mail server down",
		});

		const revoked = hook();
		const delayed = await enqueue({ ...email, callback_url: revoked.url, delay_seconds: 3600 });
		expect((await call(`/tasks/${delayed}`, { method: "DELETE" })).status).toBe(200);
		const [revocation] = await received(revoked.path);
		expect(verified(revocation as NonNullable<typeof revocation>)).toMatchObject({ task_id: delayed, status: "REVOKED" });
	});

	it("works from POST /tasks, POST /tasks/bulk (a webhook per task) and the engine's client", async () => {
		const one = hook();
		const byName = await enqueue(
			{ name: "send_email", input: { recipient: "ada@example.com", subject: "Hi", body: "x" }, callback_url: one.url },
			"/tasks",
		);
		expect((await taskRow(byName))?.callbackUrl).toBe(one.url);

		const many = hook();
		const user = await createUser();
		const res = await postJson("/tasks/bulk", {
			tasks: [
				{ name: "process_user_data", input: { user_id: user.id } },
				{ name: "send_email", input: { recipient: "bob@example.com", subject: "Hi", body: "x" } },
			],
			callback_url: many.url,
		});
		const { task_ids } = await res.json<{ task_ids: string[] }>();
		const requests = await received(many.path, 2);
		expect(requests.map((r) => r.headers["webhook-id"]).sort()).toEqual([...task_ids].sort());

		const direct = hook("deep.receivers.example.net");
		const { id } = await testContext().tasks.enqueue(
			sendEmail,
			{ recipient: "ada@example.com", subject: "Hi", body: "x" },
			{ callbackUrl: direct.url },
		);
		const [request] = await received(direct.path);
		expect(request?.headers["webhook-id"]).toBe(id);
	});
});

describe("refusals", () => {
	it.each([
		["a host not on the list", "https://evil.example.org/hook", "host evil.example.org is not in WEBHOOK_ALLOWED_HOSTS"],
		["plain http", "http://hooks.example.com/hook", "must use https"],
		["credentials", "https://user:pw@hooks.example.com/hook", "must not carry credentials"],
		["another port", "https://hooks.example.com:8443/hook", "must use the default port (443)"],
		["an IP address", "https://127.0.0.1/hook", "must name a public host"],
		["an IP address in another spelling", "https://2130706433/hook", "must name a public host"],
		["an IPv6 address", "https://[::1]/hook", "must name a public host"],
		["a local name", "https://localhost/hook", "must name a public host"],
		["the apex of a wildcard", "https://receivers.example.net/hook", "is not in WEBHOOK_ALLOWED_HOSTS"],
		["not a URL", "hooks.example.com/hook", "must be an absolute URL"],
	])("refuses %s with 400 and writes nothing", async (_, url, message) => {
		const before = await rowCounts();
		const send = vi.spyOn(env.TASKS, "send");
		const res = await postJson("/send-email", { ...email, callback_url: url });
		expect(res.status).toBe(400);
		const { error } = await res.json<{ error: { code: string; details: { path: string; message: string }[] } }>();
		expect(error.code).toBe("validation_error");
		expect(error.details).toEqual([{ path: "callback_url", message: expect.stringContaining(message) }]);
		expect(await rowCounts()).toEqual(before);
		expect(send).not.toHaveBeenCalled();
	});

	it("refuses every callback_url while WEBHOOK_ALLOWED_HOSTS is empty, the default", async () => {
		const closed = { ...env, WEBHOOK_ALLOWED_HOSTS: "" };
		const res = await call(
			"/send-email",
			{
				method: "POST",
				headers: { "content-type": "application/json" },
				body: JSON.stringify({ ...email, callback_url: hook().url }),
			},
			closed,
		);
		expect(res.status).toBe(400);
		expect(JSON.stringify(await res.json())).toContain("webhooks are off until WEBHOOK_ALLOWED_HOSTS names a host");
	});

	it("will not start with an IP address or a local name in the allowlist, or hosts without a secret", () => {
		const base = { TASKS_DEAD_LETTER_QUEUE: "dlq", TASK_ID_SECRET: env.TASK_ID_SECRET, WEBHOOK_SECRET: env.WEBHOOK_SECRET };
		for (const hosts of ["10.0.0.1", "localhost", "hooks.internal", "*.local", "[::1]", "no-dot", "*.*.example.com"]) {
			expect(() => parseEngineConfig({ ...base, WEBHOOK_ALLOWED_HOSTS: hosts }), hosts).toThrow(ConfigError);
		}
		expect(() => parseEngineConfig({ ...base, WEBHOOK_ALLOWED_HOSTS: "hooks.example.com", WEBHOOK_SECRET: undefined })).toThrow(
			/WEBHOOK_SECRET/,
		);
		// Not whsec_; base64 that does not decode (33 characters); too short once decoded.
		for (const secret of ["not-a-secret", `whsec_${"A".repeat(33)}`, `whsec_${btoa("x".repeat(16))}`]) {
			expect(() => parseEngineConfig({ ...base, WEBHOOK_SECRET: secret }), secret).toThrow(/WEBHOOK_SECRET/);
		}
		expect(parseEngineConfig({ ...base, WEBHOOK_ALLOWED_HOSTS: " Hooks.Example.com, *.example.net " }).webhookHosts).toEqual([
			"hooks.example.com",
			"*.example.net",
		]);
	});

	it("forgets the webhook of a task whose enqueue failed: the client was told it was never enqueued", async () => {
		vi.spyOn(env.TASKS, "send").mockRejectedValueOnce(new Error("Queue send failed: overloaded"));
		const res = await postJson("/send-email", { ...email, callback_url: hook().url });
		expect(res.status).toBe(503);
		const failed = await env.DB.prepare(
			"SELECT callback_url FROM tasks WHERE error LIKE 'enqueue failed: %' ORDER BY created_at DESC LIMIT 1",
		).first();
		expect(failed).toEqual({ callback_url: null });
	});

	it("counts the webhook in the Idempotency-Key: another callback_url is another request", async () => {
		const key = { "Idempotency-Key": crypto.randomUUID() };
		const first = hook();
		expect((await postJson("/send-email", { ...email, callback_url: first.url }, key)).status).toBe(202);
		expect((await postJson("/send-email", { ...email, callback_url: first.url }, key)).status).toBe(200);
		expect((await postJson("/send-email", { ...email, callback_url: hook().url }, key)).status).toBe(422);
	});
});

/** A finished task that owes a webhook, and its deliver_webhook task, with no message on any queue: the test delivers by hand. */
async function owingTask(url: string) {
	const id = await enqueue({ ...email, callback_url: url, delay_seconds: 3600 });
	await env.DB.prepare("UPDATE tasks SET status = 'REVOKED', finished_at = ? WHERE id = ?").bind(Date.now(), id).run();
	const delivery = crypto.randomUUID();
	await env.DB.prepare(
		`INSERT INTO tasks (id, name, payload, status, created_at, updated_at, due_at) VALUES (?1, 'deliver_webhook', json_object('task_id', ?2), 'PENDING', ?3, ?3, ?3)`,
	)
		.bind(delivery, id, Date.now())
		.run();
	await env.DB.prepare("UPDATE tasks SET callback_task_id = ? WHERE id = ?").bind(delivery, id).run();
	return { id, envelope: { id: delivery, name: "deliver_webhook", input: { task_id: id } } };
}

describe("retries", () => {
	it("retries a failing receiver with backoff, the same webhook-id each time, until it takes the webhook", async () => {
		const { path, url } = hook();
		await receiver.answer(path, [500, 429]);
		const { id, envelope } = await owingTask(url);

		await deliver([envelope]);
		expect(await taskRow(envelope.id)).toMatchObject({
			status: "RETRY",
			error: "webhook not delivered: the receiver answered 500",
		});
		await deliver([envelope]);
		const second = await taskRow(envelope.id);
		expect(second).toMatchObject({ status: "RETRY", error: "webhook not delivered: the receiver answered 429" });
		// Retry-After is honoured.
		expect(second?.history.at(-1)?.delaySeconds).toBe(7);
		await deliver([envelope]);
		expect(await taskRow(envelope.id)).toMatchObject({ status: "SUCCESS", attempts: 3, result: { status: 204, webhook_id: id } });

		const requests = await receiver.received(path);
		expect(requests.map((r) => r.headers["webhook-id"])).toEqual([id, id, id]);
		for (const request of requests) expect(verified(request)).toMatchObject({ task_id: id, status: "REVOKED" });
	});

	it("does not follow a redirect, and stops at 410 Gone", async () => {
		const moved = hook();
		await receiver.answer(moved.path, [302]);
		const redirected = await owingTask(moved.url);
		await deliver([redirected.envelope]);
		expect((await taskRow(redirected.envelope.id))?.error).toBe(
			"webhook not delivered: the receiver answered 302 (a redirect to https://hooks.example.com/elsewhere, not followed)",
		);
		expect(await receiver.received("/elsewhere")).toEqual([]);

		const gone = hook();
		await receiver.answer(gone.path, [410]);
		const stopped = await owingTask(gone.url);
		await deliver([stopped.envelope]);
		expect(await taskRow(stopped.envelope.id)).toMatchObject({ status: "FAILURE", attempts: 1 });
	});

	it("ends FAILURE once its retries are spent, and when its message is dead-lettered; either can be retried", async () => {
		const spent = hook();
		await receiver.answer(spent.path, [500]);
		const exhausted = await owingTask(spent.url);
		// The last of deliver_webhook's 12 retries.
		await env.DB.prepare("UPDATE tasks SET attempts = 12 WHERE id = ?").bind(exhausted.envelope.id).run();
		await deliver([exhausted.envelope]);
		expect(await taskRow(exhausted.envelope.id)).toMatchObject({ status: "FAILURE", attempts: 13 });

		const dead = await owingTask(hook().url);
		await deliver([dead.envelope], { queue: env.TASKS_DEAD_LETTER_QUEUE });
		expect(await taskRow(dead.envelope.id)).toMatchObject({ status: "FAILURE", error: "dead-lettered" });

		// A retry is a new deliver_webhook task: it posts again, with the same webhook-id.
		const res = await call(`/tasks/${exhausted.envelope.id}/retry`, { method: "POST" });
		expect(res.status).toBe(202);
		const { task_id } = await res.json<{ task_id: string }>();
		expect(await waitForFinal(task_id)).toMatchObject({ name: "deliver_webhook", status: "SUCCESS" });
		const requests = await receiver.received(spent.path);
		expect(requests.map((r) => r.headers["webhook-id"])).toEqual([exhausted.id, exhausted.id]);
	});
});

describe("dispatch", () => {
	it("dispatches a task's webhook once, however many dispatchers race and however often its message is redelivered", async () => {
		const { path, url } = hook();
		const id = await enqueue({ ...email, callback_url: url, delay_seconds: 3600 });
		const input = { recipient: "ada@example.com", subject: "Hi", body: "Body" };
		await deliver([{ id, name: "send_email", input }]);
		const delivery = await deliveryOf(id);
		// Redelivered after it finished, and dispatched again by hand, twice at once.
		await deliver([{ id, name: "send_email", input }]);
		const { rt } = createScopes(engineOptions).scopeOf(env);
		expect(await Promise.all([dispatchWebhooks(rt, [id]), dispatchWebhooks(rt, [id])])).toEqual([0, 0]);
		await waitForFinal(delivery);
		expect((await taskRow(id))?.callbackTaskId).toBe(delivery);
		const count = await env.DB.prepare(
			"SELECT count(*) AS n FROM tasks WHERE name = 'deliver_webhook' AND payload->>'task_id' = ?",
		)
			.bind(id)
			.first<{ n: number }>();
		expect(count?.n).toBe(1);
		expect(await received(path)).toHaveLength(1);
	});

	it("leaves what the consumer missed to the recovery sweep, which dispatches it a minute after the task finished", async () => {
		const { path, url } = hook();
		const id = await enqueue({ ...email, callback_url: url, delay_seconds: 3600 });
		// Finished two minutes ago, as if the consumer died before dispatching.
		await env.DB.prepare("UPDATE tasks SET status = 'FAILURE', error = 'x', finished_at = ? WHERE id = ?")
			.bind(Date.now() - 120_000, id)
			.run();
		const run = await testContext().tasks.apply(recoverStuckTasks, {});
		expect(run.result).toMatchObject({ webhooks_dispatched: expect.any(Number) });
		expect((run.result as { webhooks_dispatched: number }).webhooks_dispatched).toBeGreaterThanOrEqual(1);
		const [request] = await received(path);
		expect(verified(request as NonNullable<typeof request>)).toMatchObject({ task_id: id, status: "FAILURE" });
	});

	it("costs a batch without webhooks nothing: no dispatch statement runs", async () => {
		const prepare = vi.spyOn(env.DB, "prepare");
		const id = await enqueue(email);
		await waitForFinal(id);
		expect(prepare.mock.calls.filter(([sql]) => sql.includes("callback_task_id ="))).toEqual([]);
	});
});
