// Configuration is parsed once, strictly; a bad variable is named in the log,
// not buried, and not told to whoever sent the request.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseConfig } from "../../src/config";
import { ConfigError, parseEngineConfig } from "../../src/engine";
import worker from "../../src/index";

const SECRET = "a-session-secret-of-32-characters-or-more";
afterEach(() => vi.restoreAllMocks());

const minimal = { APP_ENV: "development", MAIL_FROM: "a@example.com", SESSION_SECRET: SECRET };

describe("config", () => {
	it("parses a valid environment into a frozen config", () => {
		const config = parseConfig({ ...minimal, APP_ENV: "production", MAIL_FROM: "tasks@example.com" });
		expect(config).toEqual({
			appEnv: "production",
			mailFrom: "tasks@example.com",
			mailDomain: "example.com",
			maxBodyBytes: 1_048_576,
			emailRatePerDomain: 60,
			apiTokens: [],
			corsOrigins: [],
			sessionSecret: SECRET,
		});
		expect(Object.isFrozen(config)).toBe(true);
	});

	it("parses the engine's settings from the same vars, with their defaults", () => {
		const config = parseEngineConfig({ TASKS_DEAD_LETTER_QUEUE: "dlq", TASK_ID_SECRET: "x".repeat(32) });
		expect(config).toEqual({
			deadLetterQueue: "dlq",
			idempotencyTtlSeconds: 86_400,
			resultTtlSeconds: 604_800,
			stuckPendingSeconds: 900,
			queueRetentionSeconds: 345_600,
			taskIdSecret: "x".repeat(32),
			webhookHosts: [],
			webhookSecret: undefined,
			logLevel: "info",
		});
		expect(Object.isFrozen(config)).toBe(true);
	});

	it("splits comma-separated tokens and origins", () => {
		const config = parseConfig({
			...minimal,
			API_TOKENS: " first-token-0123456789 ,second-token-0123456789,",
			CORS_ORIGINS: "https://app.example.com",
		});
		expect(config.apiTokens).toEqual(["first-token-0123456789", "second-token-0123456789"]);
		expect(config.corsOrigins).toEqual(["https://app.example.com"]);
	});

	it("refuses a short token, naming API_TOKENS without echoing it", () => {
		const parse = () => parseConfig({ ...minimal, API_TOKENS: "short" });
		expect(parse).toThrow(/API_TOKENS: each token must be at least 16 characters/);
		expect(parse).not.toThrow(/short/);
	});

	it.each([
		["missing", undefined, /SESSION_SECRET: is required: a secret of at least 32/],
		["short", "too-short-secret", /SESSION_SECRET: must be at least 32 characters/],
	])("refuses a %s SESSION_SECRET, naming it without echoing it", (_case, value, message) => {
		const parse = () => parseConfig({ ...minimal, SESSION_SECRET: value });
		expect(parse).toThrow(message);
		expect(parse).not.toThrow(/too-short-secret/);
	});

	it("refuses an Idempotency-Key TTL longer than the result TTL: a replay would point at expired tasks", () => {
		const parse = () =>
			parseEngineConfig({
				TASKS_DEAD_LETTER_QUEUE: "dlq",
				TASK_ID_SECRET: "x".repeat(32),
				IDEMPOTENCY_TTL_SECONDS: String(8 * 86_400),
			});
		expect(parse).toThrow(/IDEMPOTENCY_TTL_SECONDS: must be at most RESULT_TTL_SECONDS/);
	});

	it("names every bad variable", () => {
		const parse = () => parseConfig({ APP_ENV: "staging", MAIL_FROM: "nobody", MAX_BODY_BYTES: "12" });
		expect(parse).toThrow(ConfigError);
		expect(parse).toThrow(/APP_ENV: .*MAIL_FROM: .*MAX_BODY_BYTES: /);
	});

	it("takes LOG_LEVEL as one of debug, info, warn and error", () => {
		const vars = { TASKS_DEAD_LETTER_QUEUE: "dlq", TASK_ID_SECRET: "x".repeat(32) };
		expect(parseEngineConfig({ ...vars, LOG_LEVEL: "warn" }).logLevel).toBe("warn");
		expect(() => parseEngineConfig({ ...vars, LOG_LEVEL: "verbose" })).toThrow(/LOG_LEVEL: /);
	});

	it("answers 500 config_error without the details, which go to the log with the request id", async () => {
		const logged = vi.spyOn(console, "error").mockImplementation(() => {});
		const broken = { ...env, MAIL_FROM: "not-an-address" };
		const res = await worker.fetch(new Request("https://edge-tasks.test/health"), broken, createExecutionContext());
		expect(res.status).toBe(500);
		const body = await res.json<{ error: { code: string; message: string; request_id: string } }>();
		expect(body.error.code).toBe("config_error");
		expect(body.error.message).toBe(`The Worker is misconfigured; the log has the details (request id ${body.error.request_id})`);
		expect(JSON.stringify(body)).not.toContain("MAIL_FROM");
		const lines = logged.mock.calls.map(([line]) => JSON.parse(String(line)));
		expect(lines).toContainEqual(
			expect.objectContaining({
				msg: "misconfigured worker",
				request_id: body.error.request_id,
				error: expect.stringContaining("MAIL_FROM"),
			}),
		);
	});
});
