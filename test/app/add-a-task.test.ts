// What the README promises: a task is one file and one line in the task
// list, and its route one call of taskRoute, which validates with the task's
// own schema and enforces the rate limit it documents.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import * as z from "zod";
import { createEngine } from "../../src/engine";
import { taskRoute } from "../../src/http/enqueue-route";
import { errorHandler } from "../../src/http/errors";
import { contextFrom } from "../../src/http/middleware";
import { createRouter, openApiDocument } from "../../src/http/openapi-router";
import { engineOptions } from "../../src/index";
import { tasks } from "../../src/tasks";
import { defineTask } from "../../src/tasks/define";
import { deliverBatch } from "../engine/harness";

afterEach(() => vi.restoreAllMocks());

// The new file: src/tasks/resize-image.ts.
const resizeImage = defineTask({
	name: "resize_image",
	input: z.object({ url: z.url(), width: z.number().int().min(1).max(4096) }).strict(),
	async run(ctx, { url, width }, task) {
		ctx.log.info("resizing", { task_id: task.id, url, width });
		return { url, width };
	},
});

// The one line: the task list with it. (Its messages go to a queue no other
// consumer reads, so the test delivers them itself.)
const engine = createEngine({
	...engineOptions,
	tasks: [...tasks, resizeImage],
	bindings: (e: Env) => ({ ...engineOptions.bindings(e), queue: env.ENGINE_TEST_QUEUE }),
});

// The route: one call.
const api = createRouter();
api.use(contextFrom(engine.context));
taskRoute(api, { path: "/resize-image", task: resizeImage, summary: "Resize an image", schemaId: "ResizeImageRequest" });
api.onError(errorHandler());

const post = (body: unknown) =>
	api.request(
		"/resize-image",
		{ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) },
		env,
	);

describe("adding a task", () => {
	it("enqueues it over HTTP and from code, and the consumer runs it", async () => {
		const send = vi.spyOn(env.ENGINE_TEST_QUEUE, "send");
		const res = await post({ url: "https://example.com/a.png", width: 320 });
		expect(res.status).toBe(202);
		const { task_id } = await res.json<{ task_id: string }>();
		expect(res.headers.get("Location")).toBe(`/tasks/${task_id}`);

		const fromCode = await engine.context(env).tasks.enqueue(resizeImage, { url: "https://example.com/b.png", width: 64 });

		const bodies = send.mock.calls.map((call) => call[0]);
		await deliverBatch((batch) => engine.consume(batch, env), "edge-tasks-engine-test", bodies);
		const client = engine.context(env).tasks;
		expect(await client.get(task_id)).toMatchObject({
			status: "SUCCESS",
			result: { url: "https://example.com/a.png", width: 320 },
		});
		expect(await client.get(fromCode.id)).toMatchObject({ status: "SUCCESS", result: { width: 64 } });
	});

	it("validates the body with the task's own schema, schedule fields included", async () => {
		const res = await post({ url: "not a url", width: 0, delay_seconds: -1 });
		expect(res.status).toBe(400);
		const { error } = await res.json<{ error: { code: string; details: { path: string }[] } }>();
		expect(error.code).toBe("validation_error");
		expect(error.details.map((d) => d.path).sort()).toEqual(["delay_seconds", "url", "width"]);
	});

	it("enforces the rate limit it documents", async () => {
		vi.spyOn(env.ENQUEUE_LIMITER, "limit").mockResolvedValue({ success: false });
		const res = await post({ url: "https://example.com/a.png", width: 320 });
		expect(res.status).toBe(429);
		expect(res.headers.get("Retry-After")).toBe("60");

		const doc = openApiDocument({ title: "t", version: "1", description: "d" }, {}, { responses: {}, headers: z.object({}) });
		const operation = doc.paths["/resize-image"]?.post as { responses: Record<string, unknown>; requestBody: unknown };
		expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(["202", "400", "429"]));
		expect(JSON.stringify(operation.requestBody)).toContain("ResizeImageRequest");
	});
});
