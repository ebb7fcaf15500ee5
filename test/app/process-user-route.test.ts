import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";

import { call, deliver, rowCounts, taskRow } from "./helpers";

afterEach(() => vi.restoreAllMocks());

describe("POST /process-user/:user_id", () => {
	it("queues process_user_data and answers 202 with the id", async () => {
		const send = vi.spyOn(env.TASKS, "send");
		const res = await call("/process-user/42", { method: "POST" });

		expect(res.status).toBe(202);
		const { task_id } = await res.json<{ task_id: string }>();
		expect(res.headers.get("Location")).toBe(`/tasks/${task_id}`);
		const envelope = { id: task_id, name: "process_user_data", input: { user_id: 42 } };
		expect(send.mock.calls[0]?.[0]).toEqual(envelope);
		// No row until a consumer claims it: the enqueue wrote nothing to D1.
		expect(await taskRow(task_id)).toBeUndefined();
		await deliver([envelope]);
		expect(await taskRow(task_id)).toMatchObject({ name: "process_user_data", payload: { user_id: 42 } });
	});

	it("takes an empty body as no body, even labelled JSON; a body that is there is validated", async () => {
		const empty = await call("/process-user/43", { method: "POST", headers: { "content-type": "application/json" }, body: "" });
		const delayed = await call("/process-user/43", {
			method: "POST",
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ delay_seconds: 60 }),
		});
		const bad = await call("/process-user/43", { method: "POST", headers: { "content-type": "application/json" }, body: "{" });
		expect([empty.status, delayed.status, bad.status]).toEqual([202, 202, 400]);
	});

	it("takes Content-Length: 0 as no body without reading it, as fetch() and browsers send a POST with none", async () => {
		const clone = vi.spyOn(Request.prototype, "clone");
		const res = await call("/process-user/44", {
			method: "POST",
			headers: { "content-length": "0" },
			body: new Uint8Array(0),
		});
		expect(res.status).toBe(202);
		expect(clone).not.toHaveBeenCalled();
	});

	it("refuses a body with a length and no content type (415) without reading it", async () => {
		const clone = vi.spyOn(Request.prototype, "clone");
		const send = vi.spyOn(env.TASKS, "send");
		const res = await call("/process-user/44", {
			method: "POST",
			headers: { "content-length": "2" },
			body: new TextEncoder().encode("{}"),
		});
		expect(res.status).toBe(415);
		expect(clone).not.toHaveBeenCalled();
		expect(send).not.toHaveBeenCalled();
	});

	it("reads a body sent without a length (chunked) to tell an empty one from a present one", async () => {
		const stream = (text: string) =>
			new ReadableStream({
				start(controller) {
					if (text) controller.enqueue(new TextEncoder().encode(text));
					controller.close();
				},
			});
		const empty = await call("/process-user/45", { method: "POST", body: stream("") });
		const present = await call("/process-user/45", { method: "POST", body: stream("{}") });
		expect([empty.status, present.status]).toEqual([202, 415]);
	});

	it.each(["0", "-1", "abc", "1.5", "1e3", "007", "99999999999999999999"])(
		"rejects user_id %s with 400 and writes nothing",
		async (id) => {
			const send = vi.spyOn(env.TASKS, "send");
			const before = await rowCounts();
			const res = await call(`/process-user/${id}`, { method: "POST" });

			expect(res.status).toBe(400);
			const body = await res.json<{ error: { code: string; details: { path: string }[] } }>();
			expect(body.error.code).toBe("validation_error");
			expect(body.error.details[0]?.path).toBe("user_id");
			expect(await rowCounts()).toEqual(before);
			expect(send).not.toHaveBeenCalled();
		},
	);

	it("answers 405 with Allow for GET", async () => {
		const res = await call("/process-user/1");
		expect(res.status).toBe(405);
		expect(res.headers.get("Allow")).toBe("POST");
	});
});
