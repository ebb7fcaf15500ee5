// Structured logs: one JSON line per line-worthy event, at or above LOG_LEVEL
// (default info, production's warn): at info, a task writes two, enqueued and
// how it ended; at warn, none if it went well.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import wranglerToml from "../../wrangler.toml?raw";
import { call, deliver, postJson, recorded } from "./helpers";

// The same bindings, logging at another level (each env is its own isolate-lifetime config).
const atLevel = (LOG_LEVEL: string): Env => ({ ...env, LOG_LEVEL }) as Env;
const debugEnv = atLevel("debug");
// Production's level, as wrangler.toml sets it: a task that went well writes no line there.
const productionLevel = /\[env\.production\.vars\][^[]*?\nLOG_LEVEL = "(\w+)"/.exec(wranglerToml)?.[1];
const warnEnv = atLevel("warn");

afterEach(() => vi.restoreAllMocks());

function captureLines() {
	const lines: Record<string, unknown>[] = [];
	for (const method of ["log", "warn", "error"] as const) {
		vi.spyOn(console, method).mockImplementation((line: unknown) => void lines.push(JSON.parse(String(line))));
	}
	return lines;
}

describe("logs", () => {
	it("writes one request line with the request id, route, status, duration and token id: at debug if it succeeded", async () => {
		const lines = captureLines();
		const res = await call("/tasks?limit=1", { headers: { "X-Request-Id": "req-abc" } }, debugEnv);
		expect(res.headers.get("X-Request-Id")).toBe("req-abc");

		const requests = lines.filter((l) => l.msg === "request");
		expect(requests).toEqual([
			expect.objectContaining({
				level: "debug",
				request_id: "req-abc",
				method: "GET",
				path: "/tasks",
				status: 200,
				duration_ms: expect.any(Number),
				token_id: expect.stringMatching(/^tok_/),
			}),
		]);
	});

	it("writes a failed request's line at info, and a succeeded one's not at all by default", async () => {
		const lines = captureLines();
		await call("/tasks?limit=1");
		await call("/tasks?limit=oops", { headers: { "X-Request-Id": "req-bad" } });

		expect(lines.filter((l) => l.msg === "request")).toEqual([
			expect.objectContaining({ level: "info", request_id: "req-bad", status: 400 }),
		]);
	});

	it("writes two lines for a task at info: enqueued, naming the request, and how its attempt ended", async () => {
		const lines = captureLines();
		const res = await postJson("/process-user/77", {}, { "X-Request-Id": "req-two" });
		const { task_id } = (await res.json()) as { task_id: string };
		expect(lines).toEqual([expect.objectContaining({ msg: "task enqueued", level: "info", task_id, request_id: "req-two" })]);

		const envelope = await recorded("process_user_data", { user_id: 77 });
		lines.length = 0;
		await deliver([envelope]);
		expect(lines).toEqual([
			expect.objectContaining({
				msg: "task transition",
				level: "info",
				task_id: envelope.id,
				name: "process_user_data",
				from: "STARTED",
				to: "SUCCESS",
				attempt: 1,
				duration_ms: expect.any(Number),
			}),
		]);
	});

	it("writes the STARTED transition too at debug", async () => {
		const envelope = await recorded("process_user_data", { user_id: 78 });
		const lines = captureLines();
		await deliver([envelope], { env: debugEnv });

		const transitions = lines.filter((l) => l.msg === "task transition");
		expect(transitions.map((l) => [l.level, l.to])).toEqual([
			["debug", "STARTED"],
			["info", "SUCCESS"],
		]);
	});

	it("is at warn in production, where the test below holds", () => {
		expect(productionLevel).toBe("warn");
	});

	it("writes nothing for a task that went well at warn, and still its failures", async () => {
		const lines = captureLines();
		await call("/tasks?limit=1", {}, warnEnv);
		await deliver([await recorded("process_user_data", { user_id: 79 })], { env: warnEnv });
		expect(lines).toEqual([]);

		const res = await call("/tasks/not-a-task-id", {}, warnEnv);
		expect(res.status).toBe(400);
		await deliver([await recorded("process_user_data", { user_id: -1 })], { env: warnEnv });
		expect(lines.every((l) => l.level === "warn" || l.level === "error")).toBe(true);
		expect(lines.map((l) => l.msg)).toContain("poison message");
	});

	it("sends secure headers and no CORS headers by default", async () => {
		const res = await call("/health", { headers: { Origin: "https://evil.example" } });
		expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
		expect(res.headers.get("Strict-Transport-Security")).toContain("max-age");
		expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
	});

	// OWASP's REST Security Cheat Sheet's set on the API; the HTML-only ones on the dashboard's pages.
	const API_HEADERS = {
		"Strict-Transport-Security": "max-age=15552000; includeSubDomains",
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options": "SAMEORIGIN",
		"Referrer-Policy": "no-referrer",
		"Cross-Origin-Resource-Policy": "same-origin",
	};
	const headersOf = (res: Response, names: string[]) => Object.fromEntries(names.map((name) => [name, res.headers.get(name)]));

	it.each([
		["a JSON answer", "/health", {}],
		["an error, thrown before the route ran", "/tasks", { Authorization: "" }],
		["a static asset the Worker answers with its own Response", "/docs", {}],
	])("puts the API's security headers on %s", async (_case, path, headers) => {
		const res = await call(path, { headers });
		expect(headersOf(res, Object.keys(API_HEADERS))).toEqual(API_HEADERS);
		expect(res.headers.get("X-XSS-Protection")).toBeNull();
	});

	it("keeps the dashboard's own headers: its Content-Security-Policy, its referrer policy and the HTML-only ones", async () => {
		const res = await call("/dashboard/login", { headers: { Authorization: "" } });
		expect(res.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
		expect(res.headers.get("Referrer-Policy")).toBe("same-origin");
		expect(res.headers.get("X-XSS-Protection")).toBe("0");
		expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
	});
});
