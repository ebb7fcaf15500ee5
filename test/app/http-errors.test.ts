import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { call, failD1When, postJson } from "./helpers";

afterEach(() => vi.restoreAllMocks());

describe("HTTP errors", () => {
	it("answers health", async () => {
		const res = await call("/health");
		expect(res.status).toBe(200);
		expect(await res.json()).toEqual({ status: "ok" });
	});

	it("answers 404 JSON for an unknown route, with the request id", async () => {
		const res = await call("/nope", { headers: { "X-Request-Id": "req-123" } });
		expect(res.status).toBe(404);
		expect(res.headers.get("X-Request-Id")).toBe("req-123");
		expect(await res.json()).toEqual({ error: { code: "not_found", message: "Route not found", request_id: "req-123" } });
	});

	it("answers 405 with Allow for a known path under another method", async () => {
		const res = await call("/send-email", { method: "DELETE" });
		expect(res.status).toBe(405);
		expect(res.headers.get("Allow")).toBe("POST");
		expect(await res.json()).toMatchObject({ error: { code: "method_not_allowed" } });
	});

	it.each([
		["POST", "/health", "GET, HEAD"],
		["DELETE", "/openapi.json", "GET, HEAD"],
		["POST", "/docs", "GET, HEAD"],
	])("answers 405, not 401, for %s %s without a token", async (method, path, allow) => {
		const res = await call(path, { method, headers: { Authorization: "" } });
		expect(res.status).toBe(405);
		expect(res.headers.get("Allow")).toBe(allow);
	});

	it("answers a generic 500 without internals for an unexpected error", async () => {
		vi.spyOn(env.DB, "prepare").mockImplementation(() => {
			throw new TypeError("cannot read properties of undefined at /var/secret/path");
		});
		const res = await call("/users/1");
		expect(res.status).toBe(500);
		const text = await res.text();
		expect(JSON.parse(text)).toMatchObject({ error: { code: "internal_error", message: "Internal server error" } });
		expect(text).not.toContain("secret");
	});

	it("answers 503 without internals when D1 itself fails", async () => {
		vi.spyOn(env.DB, "prepare").mockImplementation(() => {
			throw new Error("D1_ERROR: disk I/O error at /var/secret/path");
		});
		const res = await call("/users/1");
		expect(res.status).toBe(503);
		const text = await res.text();
		expect(JSON.parse(text)).toMatchObject({ error: { code: "storage_unavailable" } });
		expect(text).not.toContain("secret");
	});
});

describe("D1 unavailable", () => {
	it("answers 503 storage_unavailable, not 500, on an engine route and on an app route", async () => {
		failD1When(() => true);
		const task = await call(`/tasks/${crypto.randomUUID()}`);
		const user = await postJson("/users", { email: `${crypto.randomUUID()}@example.com` });
		for (const res of [task, user]) {
			expect(res.status).toBe(503);
			expect(await res.json()).toMatchObject({ error: { code: "storage_unavailable" } });
		}
	});
});
