import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";

import { call, deliver, failD1When, postJson, rowCounts, taskRow } from "./helpers";

afterEach(() => vi.restoreAllMocks());

const valid = { email: "ada@example.com", subject: "Welcome", body: "Hello from edge-tasks." };

describe("POST /send-email", () => {
	it("queues its envelope and answers 202 with the id; the task reads PENDING until a consumer records it", async () => {
		const send = vi.spyOn(env.TASKS, "send");
		const res = await postJson("/send-email", valid);

		expect(res.status).toBe(202);
		const body = await res.json<{ task_id: string; status: string }>();
		expect(body).toEqual({ task_id: expect.any(String), status: "queued" });
		expect(res.headers.get("Location")).toBe(`/tasks/${body.task_id}`);

		const input = { recipient: valid.email, subject: "Welcome", body: valid.body };
		expect(send).toHaveBeenCalledTimes(1);
		expect(send.mock.calls[0]?.[0]).toEqual({ id: body.task_id, name: "send_email", input });
		expect(await taskRow(body.task_id)).toBeUndefined();
		const pending = await call(`/tasks/${body.task_id}`);
		expect(pending.status).toBe(200);
		expect(await pending.json()).toMatchObject({ task_id: body.task_id, name: null, status: "PENDING", attempts: 0 });

		await deliver([send.mock.calls[0]?.[0]]);
		expect(await taskRow(body.task_id)).toMatchObject({
			name: "send_email",
			payload: input,
			status: "SUCCESS",
		});
	});

	it.each([
		["a missing field", { email: valid.email, subject: "x" }, "body"],
		["an extra field", { ...valid, cc: "x@example.com" }, ""],
		["a wrongly typed field", { ...valid, subject: 42 }, "subject"],
		["an invalid address", { ...valid, email: "not-an-address" }, "email"],
		["an over-long address", { ...valid, email: `${"a".repeat(250)}@example.com` }, "email"],
		["a CR/LF in the address", { ...valid, email: "ada@example.com\r\nBcc: eve@example.com" }, "email"],
		["a CR/LF in the subject", { ...valid, subject: "Hi\r\nBcc: eve@example.com" }, "subject"],
		["an empty subject", { ...valid, subject: "" }, "subject"],
		["a subject over 998 bytes", { ...valid, subject: "é".repeat(500) }, "subject"],
		["a body over 100,000 bytes (in fewer than 50,000 characters)", { ...valid, body: "日".repeat(34_000) }, "body"],
		["an array body", [valid], ""],
	])("rejects %s with 400 and writes nothing", async (_case, body, path) => {
		const send = vi.spyOn(env.TASKS, "send");
		const before = await rowCounts();
		const res = await postJson("/send-email", body);

		expect(res.status).toBe(400);
		const json = await res.json<{ error: { code: string; details: { path: string }[] } }>();
		expect(json.error.code).toBe("validation_error");
		expect(json.error.details.map((d) => d.path)).toContain(path);
		expect(await rowCounts()).toEqual(before);
		expect(send).not.toHaveBeenCalled();
	});

	it("rejects malformed JSON with 400 invalid_json", async () => {
		const before = await rowCounts();
		const res = await postJson("/send-email", '{"email": "ada@example.com",');
		expect(res.status).toBe(400);
		expect((await res.json<{ error: { code: string } }>()).error.code).toBe("invalid_json");
		expect(await rowCounts()).toEqual(before);
	});

	it("rejects a non-JSON content type with 415", async () => {
		const before = await rowCounts();
		const res = await call("/send-email", { method: "POST", headers: { "content-type": "text/plain" }, body: "hello" });
		expect(res.status).toBe(415);
		expect((await res.json<{ error: { code: string } }>()).error.code).toBe("unsupported_media_type");
		expect(await rowCounts()).toEqual(before);
	});

	// RFC 9110's media-type: optional whitespace around ";", the type and the
	// parameter names in any case, values as tokens or quoted strings. An
	// empty body gets past the gate and fails validation, so nothing is sent.
	it.each([
		"application/json ; charset=utf-8",
		"application/json;charset=utf-8",
		"application/json;\tcharset=UTF-8 ; foo=bar",
		'Application/JSON; charset="utf-8"',
		"application/vnd.api+json",
		"application/json;",
	])("takes Content-Type %j as JSON", async (contentType) => {
		const res = await call("/send-email", { method: "POST", headers: { "content-type": contentType }, body: "{}" });
		expect(res.status).toBe(400);
		expect((await res.json<{ error: { code: string } }>()).error.code).toBe("validation_error");
	});

	it.each([
		"application/jsonx",
		"application/json-patch",
		"text/json",
		"application/json charset=utf-8",
		"application/json; charset",
	])("refuses Content-Type %j with 415", async (contentType) => {
		const res = await call("/send-email", { method: "POST", headers: { "content-type": contentType }, body: "{}" });
		expect(res.status).toBe(415);
	});

	// A pattern that backtracks exponentially would run past the test's timeout
	// (workerd's clock stands still while code runs, so it cannot be timed).
	it("refuses a long run of empty parameters at once", async () => {
		const contentType = `application/json${" ;".repeat(4000)} x`;
		const res = await call("/send-email", { method: "POST", headers: { "content-type": contentType }, body: "{}" });
		expect(res.status).toBe(415);
	});

	it("rejects a body larger than MAX_BODY_BYTES with 413", async () => {
		const before = await rowCounts();
		const res = await postJson("/send-email", { ...valid, body: "x".repeat(1_100_000) });
		expect(res.status).toBe(413);
		expect((await res.json<{ error: { code: string } }>()).error.code).toBe("payload_too_large");
		expect(await rowCounts()).toEqual(before);
	});

	it("rejects a streamed body over the limit with 413 before reading it all", async () => {
		const before = await rowCounts();
		let pulled = 0;
		const chunk = new TextEncoder().encode("x".repeat(16_384));
		const stream = new ReadableStream<Uint8Array>({
			pull(controller) {
				pulled++;
				if (pulled > 128) controller.close();
				else controller.enqueue(chunk);
			},
		});
		const res = await call("/send-email", { method: "POST", headers: { "content-type": "application/json" }, body: stream });
		expect(res.status).toBe(413);
		expect(pulled).toBeLessThan(128); // a 2 MiB body was not read whole
		expect(await rowCounts()).toEqual(before);
	});

	it("answers 503 and marks the row FAILURE, not PENDING, when the queue refuses the message", async () => {
		vi.spyOn(env.TASKS, "send").mockRejectedValueOnce(new Error("Queue send failed: internal error"));
		const res = await postJson("/send-email", { ...valid, subject: "queue down" });

		expect(res.status).toBe(503);
		const body = await res.json<{ error: { code: string; message: string } }>();
		expect(body.error.code).toBe("queue_unavailable");
		expect(body.error.message).not.toContain("internal error");
		const rows = await env.DB.prepare(
			"SELECT status, error FROM tasks WHERE json_extract(payload, '$.subject') = 'queue down'",
		).all();
		expect(rows.results).toEqual([{ status: "FAILURE", error: "enqueue failed: Queue send failed: internal error" }]);
	});

	it("still answers 503, saying the state is unknown, when D1 fails too; a keyed retry waits, then replays the recorded task", async () => {
		const key = crypto.randomUUID();
		vi.spyOn(env.TASKS, "send").mockRejectedValueOnce(new Error("Queue send failed: internal error"));
		const releasesKey = (sql: string) => sql.startsWith('delete from "idempotency_keys"') && !sql.includes("expires_at");
		const outage = failD1When((sql) => sql.includes("DO UPDATE SET status = 'FAILURE'") || releasesKey(sql));

		const res = await postJson("/send-email", { ...valid, subject: "double fault" }, { "Idempotency-Key": key });
		outage.mockRestore();

		expect(res.status).toBe(503);
		const { error } = await res.json<{ error: { code: string; message: string; details: { task_id: string } } }>();
		expect(error.code).toBe("queue_unavailable");
		expect(error.message).toContain("could not be recorded");
		// The row written with the key is still PENDING: stuck-task recovery sends it later.
		expect(await taskRow(error.details.task_id)).toMatchObject({ status: "PENDING" });
		// Within the send's grace period the key may still be sending: wait.
		const soon = await postJson("/send-email", { ...valid, subject: "double fault" }, { "Idempotency-Key": key });
		expect(soon.status).toBe(409);
		// Past it, the recorded task is the answer: it will run (recovery sends it).
		await env.DB.prepare("UPDATE idempotency_keys SET created_at = created_at - 120000 WHERE key = ?").bind(key).run();
		const retried = await postJson("/send-email", { ...valid, subject: "double fault" }, { "Idempotency-Key": key });
		expect(retried.status).toBe(200);
		expect(await retried.json()).toMatchObject({ task_id: error.details.task_id });
	});
});
