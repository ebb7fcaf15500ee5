// Bearer-token authentication on every route but health and the API description.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { tokenId } from "../../src/http/auth";
import worker from "../../src/index";
import { BASE, call, postJson, rowCounts, TOKENS } from "./helpers";

afterEach(() => vi.restoreAllMocks());

const email = { email: "ada@example.com", subject: "Hi", body: "Hello" };

describe("authentication", () => {
	it.each([
		["no header", ""],
		["another scheme", "Basic dXNlcjpwYXNz"],
		["an empty bearer", "Bearer "],
		["two words", "Bearer one two"],
	])("answers 401 with WWW-Authenticate for %s, and writes nothing", async (_case, header) => {
		const before = await rowCounts();
		const res = await postJson("/send-email", email, { Authorization: header });
		expect(res.status).toBe(401);
		expect(res.headers.get("WWW-Authenticate")).toBe('Bearer realm="edge-tasks"');
		expect(await res.json()).toMatchObject({ error: { code: "unauthorized" } });
		expect(await rowCounts()).toEqual(before);
	});

	it("answers 401 invalid_token for a wrong token", async () => {
		const res = await call("/tasks", { headers: { Authorization: "Bearer not-a-real-token-at-all" } });
		expect(res.status).toBe(401);
		expect(res.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
	});

	it.each([
		["differs in its last character", (t: string) => `${t.slice(0, -1)}${t.endsWith("x") ? "y" : "x"}`],
		["is a configured one cut short", (t: string) => t.slice(0, -1)],
		["is a configured one with more after it", (t: string) => `${t}x`],
	])("answers 401 to a token that %s", async (_case, alter) => {
		const res = await call("/tasks", { headers: { Authorization: `Bearer ${alter(TOKENS.main)}` } });
		expect(res.status).toBe(401);
	});

	it("accepts every configured token, so keys rotate without downtime", async () => {
		for (const token of [TOKENS.main, TOKENS.rotated]) {
			const res = await call("/tasks", { headers: { Authorization: `Bearer ${token}` } });
			expect(res.status).toBe(200);
		}
	});

	it.each(["bearer", "BEARER", "bEaReR"])("takes the scheme in any case (RFC 7235): %s", async (scheme) => {
		const res = await call("/tasks", { headers: { Authorization: `${scheme} ${TOKENS.main}` } });
		expect(res.status).toBe(200);
	});

	it("compares in constant time against every configured token", async () => {
		const compare = vi.spyOn(crypto.subtle, "timingSafeEqual");
		await call("/tasks", { headers: { Authorization: `Bearer ${TOKENS.main}` } });
		expect(compare).toHaveBeenCalledTimes(3);
		compare.mockClear();
		await call("/tasks", { headers: { Authorization: "Bearer wrong-token-0123456789" } });
		expect(compare).toHaveBeenCalledTimes(3);
	});

	it.each(["/health", "/openapi.json", "/docs"])("serves %s without a token", async (path) => {
		const res = await call(path, { headers: { Authorization: "" } });
		expect(res.status).toBe(200);
	});

	it("refuses protected routes with 500 config_error when no token is configured, naming API_TOKENS only in the log", async () => {
		const logged = vi.spyOn(console, "error").mockImplementation(() => {});
		const open = { ...env, API_TOKENS: "" };
		const res = await worker.fetch(new Request(`${BASE}/tasks`), open, createExecutionContext());
		expect(res.status).toBe(500);
		const body = await res.json<{ error: { code: string; message: string; request_id: string } }>();
		expect(body.error).toMatchObject({ code: "config_error", message: expect.stringMatching(/^The Worker is misconfigured/) });
		expect(JSON.stringify(body)).not.toContain("API_TOKENS");
		const line = logged.mock.calls.map(([l]) => JSON.parse(String(l))).find((l) => l.msg === "misconfigured worker");
		expect(line).toMatchObject({ request_id: body.error.request_id, error: expect.stringContaining("API_TOKENS") });
		const health = await worker.fetch(new Request(`${BASE}/health`), open, createExecutionContext());
		expect(health.status).toBe(200);
	});

	it("never logs a token, only its id", async () => {
		const lines: string[] = [];
		for (const method of ["log", "warn", "error"] as const) {
			vi.spyOn(console, method).mockImplementation((line: unknown) => void lines.push(String(line)));
		}
		await postJson("/send-email", email);
		// Refused, so its request line is at info.
		await postJson("/send-email", { ...email, email: "not-an-address" });
		await call("/tasks", { headers: { Authorization: "Bearer wrong-token-0123456789" } });

		const all = lines.join("\n");
		expect(all).not.toContain(TOKENS.main);
		expect(all).not.toContain("wrong-token-0123456789");
		const request = lines.map((l) => JSON.parse(l)).find((l) => l.msg === "request" && l.path === "/send-email");
		expect(request.token_id).toMatch(/^tok_[0-9a-f]{12}$/);
		expect(request.token_id).toBe(await tokenId(TOKENS.main));
	});
});

describe("rate limiting", () => {
	it("answers 429 with Retry-After once a token passes its enqueue limit; other tokens are unaffected", async () => {
		let res: Response | undefined;
		// The development limit is 600 per 60 s (wrangler.toml); bounded loop.
		for (let i = 0; i < 700; i++) {
			res = await postJson("/send-email", {}, { Authorization: `Bearer ${TOKENS.rateLimited}` });
			if (res.status === 429) break;
			expect(res.status).toBe(400); // the limit is checked before the body
		}
		expect(res?.status).toBe(429);
		expect(res?.headers.get("Retry-After")).toBe("60");
		expect(await res?.json()).toMatchObject({ error: { code: "rate_limited" } });

		expect((await postJson("/send-email", {})).status).toBe(400);
		// Reading is not rate limited.
		expect((await call("/tasks", { headers: { Authorization: `Bearer ${TOKENS.rateLimited}` } })).status).toBe(200);
		// 600 requests: about 2 s alone, past the default 5 s on a loaded two-core machine.
	}, 20_000);
});
