// Structured logs: one JSON line per request and per task transition.
import { afterEach, describe, expect, it, vi } from "vitest";
import { call, deliver, recorded } from "./helpers";

afterEach(() => vi.restoreAllMocks());

function captureLines() {
	const lines: Record<string, unknown>[] = [];
	for (const method of ["log", "warn", "error"] as const) {
		vi.spyOn(console, method).mockImplementation((line: unknown) => void lines.push(JSON.parse(String(line))));
	}
	return lines;
}

describe("logs", () => {
	it("writes one request line with the request id, route, status, duration and token id", async () => {
		const lines = captureLines();
		const res = await call("/tasks?limit=1", { headers: { "X-Request-Id": "req-abc" } });
		expect(res.headers.get("X-Request-Id")).toBe("req-abc");

		const requests = lines.filter((l) => l.msg === "request");
		expect(requests).toEqual([
			expect.objectContaining({
				level: "info",
				request_id: "req-abc",
				method: "GET",
				path: "/tasks",
				status: 200,
				duration_ms: expect.any(Number),
				token_id: expect.stringMatching(/^tok_/),
			}),
		]);
	});

	it("writes a line per task transition with from, to, attempt and duration", async () => {
		const envelope = await recorded("process_user_data", { user_id: 77 });
		const lines = captureLines();
		await deliver([envelope]);

		const transitions = lines.filter((l) => l.msg === "task transition");
		expect(transitions.map((l) => l.to)).toEqual(["STARTED", "SUCCESS"]);
		expect(transitions[1]).toMatchObject({ task_id: envelope.id, name: "process_user_data", from: "STARTED", attempt: 1 });
		expect(transitions[1]?.duration_ms).toEqual(expect.any(Number));
	});

	it("sends secure headers and no CORS headers by default", async () => {
		const res = await call("/health", { headers: { Origin: "https://evil.example" } });
		expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
		expect(res.headers.get("Strict-Transport-Security")).toContain("max-age");
		expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
	});
});
