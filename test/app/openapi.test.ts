// The published API description is complete, and real responses match it.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { createApp } from "../../src/app";
import { engine } from "../../src/index";
import { call, createUser, postJson, recorded } from "./helpers";

type Spec = {
	paths: Record<string, Record<string, Operation>>;
	components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
};
type Operation = {
	security?: unknown[];
	parameters: { name: string; schema: { example?: unknown; examples?: unknown[]; default?: unknown } }[];
	responses: Record<string, { headers?: Record<string, unknown>; content?: { "application/json": { schema: unknown } } }>;
};

async function spec(): Promise<Spec> {
	const res = await call("/openapi.json", { headers: { Authorization: "" } });
	expect(res.status).toBe(200);
	return res.json<Spec>();
}

/** Inlines #/components/schemas refs so zod can turn the schema into a validator. */
function deref(node: unknown, components: Record<string, unknown>): unknown {
	if (Array.isArray(node)) return node.map((n) => deref(n, components));
	if (node && typeof node === "object") {
		const ref = (node as { $ref?: string }).$ref;
		if (ref) return deref(components[ref.replace("#/components/schemas/", "")], components);
		return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, deref(v, components)]));
	}
	return node;
}

// The description's own two routes are not part of the API it describes, nor
// is the browser's favicon, nor the dashboard: HTML pages for people
// (docs/dashboard.md lists its routes).
const UNDOCUMENTED = new Set(["GET /openapi.json", "GET /docs", "GET /favicon.ico"]);
const isDashboard = (route: string) => / \/dashboard(\/|$)/.test(route);

describe("OpenAPI", () => {
	it("documents every route the app serves, with the bearer scheme on all but health", async () => {
		const doc = await spec();
		const served = createApp(engine.context)
			.routes.filter((r) => r.method !== "ALL")
			.map((r) => `${r.method} ${r.path}`)
			.filter((route) => !UNDOCUMENTED.has(route) && !isDashboard(route));
		expect(served.length).toBeGreaterThanOrEqual(12);
		for (const route of served) {
			const [method = "", path = ""] = route.split(" ");
			const operation = doc.paths[path.replace(/:(\w+)/g, "{$1}")]?.[method.toLowerCase()];
			expect(operation, `${route} is missing from /openapi.json`).toBeDefined();
			expect(operation?.security ?? [], route).toEqual(path === "/health" ? [] : [{ bearerAuth: [] }]);
		}
		expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
	});

	it("documents what every operation can answer besides its own responses: 500, the request id, auth and rate-limit headers", async () => {
		const doc = await spec();
		for (const [path, operations] of Object.entries(doc.paths)) {
			for (const [method, operation] of Object.entries(operations)) {
				const label = `${method.toUpperCase()} ${path}`;
				expect(operation.responses["500"], label).toBeDefined();
				for (const [status, response] of Object.entries(operation.responses)) {
					expect(response.headers?.["X-Request-Id"], `${label} ${status}`).toBeDefined();
				}
				if (operation.responses["401"]) expect(operation.responses["401"].headers?.["WWW-Authenticate"], label).toBeDefined();
				if (operation.responses["429"]) expect(operation.responses["429"].headers?.["Retry-After"], label).toBeDefined();
				for (const parameter of operation.parameters) {
					const { example, examples, default: fallback } = parameter.schema;
					const given = [example, examples, fallback].some((value) => value !== undefined);
					const documented = given || parameter.name === "cursor"; // opaque: only next_cursor makes one
					expect(documented, `${label} parameter ${parameter.name} has an example`).toBe(true);
				}
			}
		}
		expect(doc.paths["/users"]?.post?.responses["201"]?.headers?.Location).toBeDefined();
		expect(doc.paths["/users"]?.post?.responses["413"]).toBeDefined();
	});

	it("serves interactive docs at /docs, as a static asset that reads /openapi.json", async () => {
		const res = await env.ASSETS.fetch("https://edge-tasks.test/docs");
		expect(res.headers.get("content-type")).toContain("text/html");
		const page = await res.text();
		// Scalar comes from its CDN at one pinned release, never "latest".
		expect(page).toMatch(/"https:\/\/cdn\.jsdelivr\.net\/npm\/@scalar\/api-reference@\d+\.\d+\.\d+\/[\w/.-]+\.js"/);
		const mount = await (await env.ASSETS.fetch("https://edge-tasks.test/docs.js")).text();
		expect(mount).toContain('createApiReference("#app", { url: "/openapi.json"');
	});

	it("real responses match their documented schemas", async () => {
		const doc = await spec();
		const user = await createUser();
		const failed = await recorded("process_user_data", { user_id: user.id });
		await call(`/tasks/${failed.id}`, { method: "DELETE" });
		const key = crypto.randomUUID();
		const bulkKey = crypto.randomUUID();

		const cases: [string, string, () => Promise<Response>][] = [
			["get", "/health", () => call("/health")],
			["post", "/send-email", () => postJson("/send-email", { email: "a@example.com", subject: "s", body: "b" })],
			[
				"post",
				"/send-email",
				() => postJson("/send-email", { email: "a@example.com", subject: "s", body: "b" }, { "Idempotency-Key": key }),
			],
			[
				"post",
				"/send-email",
				() => postJson("/send-email", { email: "a@example.com", subject: "s", body: "b" }, { "Idempotency-Key": key }),
			],
			["post", "/send-email", () => postJson("/send-email", { email: "nope" })],
			[
				"post",
				"/send-email",
				() => call("/send-email", { method: "POST", headers: { "content-type": "text/plain" }, body: "x" }),
			],
			["post", "/send-email", () => postJson("/send-email", {}, { Authorization: "" })],
			["post", "/process-user/{user_id}", () => call(`/process-user/${user.id}`, { method: "POST" })],
			["post", "/process-users", () => postJson("/process-users", { user_ids: [user.id] })],
			["post", "/process-users", () => postJson("/process-users", { user_ids: [user.id] }, { "Idempotency-Key": bulkKey })],
			["post", "/process-users", () => postJson("/process-users", { user_ids: [user.id] }, { "Idempotency-Key": bulkKey })],
			["post", "/process-users", () => postJson("/process-users", { user_ids: [1, 2] }, { "Idempotency-Key": bulkKey })],
			[
				"post",
				"/send-emails",
				() => postJson("/send-emails", { messages: [{ email: "a@example.com", subject: "s", body: "b" }] }),
			],
			["get", "/tasks", () => call("/tasks?limit=2")],
			["get", "/tasks/{task_id}", () => call(`/tasks/${failed.id}`)],
			["get", "/tasks/{task_id}", () => call(`/tasks/${crypto.randomUUID()}`)],
			["get", "/tasks/{task_id}", () => call("/tasks/zzz")],
			["delete", "/tasks/{task_id}", () => call(`/tasks/${failed.id}`, { method: "DELETE" })],
			["post", "/tasks/{task_id}/retry", () => call(`/tasks/${failed.id}/retry`, { method: "POST" })],
			["post", "/users", () => postJson("/users", { email: `${crypto.randomUUID()}@example.com` })],
			["post", "/users", () => postJson("/users", { email: user.email })],
			["get", "/users/{id}", () => call(`/users/${user.id}`)],
			["get", "/users/{id}", () => call("/users/99999999")],
		];
		for (const [method, path, request] of cases) {
			const res = await request();
			const label = `${method.toUpperCase()} ${path} -> ${res.status}`;
			const documented = doc.paths[path]?.[method]?.responses[String(res.status)];
			expect(documented, `${label} is not documented`).toBeDefined();
			const schema = documented?.content?.["application/json"]?.schema;
			expect(schema, `${label} has no documented body`).toBeDefined();
			const validator = z.fromJSONSchema(deref(schema, doc.components.schemas) as Parameters<typeof z.fromJSONSchema>[0]);
			const parsed = validator.safeParse(await res.json());
			expect(parsed.success, `${label}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
		}

		// The check has teeth: a body missing fields does not pass.
		const taskSchema = doc.paths["/tasks/{task_id}"]?.get?.responses["200"]?.content?.["application/json"].schema;
		const task = z.fromJSONSchema(deref(taskSchema, doc.components.schemas) as Parameters<typeof z.fromJSONSchema>[0]);
		expect(task.safeParse({ task_id: failed.id, status: "SUCCESS" }).success).toBe(false);
		expect(task.safeParse({ ...(await (await call(`/tasks/${failed.id}`)).json<object>()), status: "DONE" }).success).toBe(false);
	});
});
