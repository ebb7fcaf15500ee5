// Configuration is parsed once, strictly; a bad variable is named, not buried.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../src/config";
import worker from "../src/index";

describe("config", () => {
	it("parses a valid environment into a frozen config", () => {
		const config = parseConfig({ APP_ENV: "production", MAIL_FROM: "tasks@example.com", TASKS_DEAD_LETTER_QUEUE: "dlq" });
		expect(config).toEqual({
			appEnv: "production",
			mailFrom: "tasks@example.com",
			mailDomain: "example.com",
			maxBodyBytes: 1_048_576,
			deadLetterQueue: "dlq",
			idempotencyTtlSeconds: 86_400,
			resultTtlSeconds: 604_800,
			stuckPendingSeconds: 900,
			apiTokens: [],
			corsOrigins: [],
		});
		expect(Object.isFrozen(config)).toBe(true);
	});

	it("splits comma-separated tokens and origins", () => {
		const config = parseConfig({
			APP_ENV: "development",
			MAIL_FROM: "a@example.com",
			TASKS_DEAD_LETTER_QUEUE: "dlq",
			API_TOKENS: " first-token-0123456789 ,second-token-0123456789,",
			CORS_ORIGINS: "https://app.example.com",
		});
		expect(config.apiTokens).toEqual(["first-token-0123456789", "second-token-0123456789"]);
		expect(config.corsOrigins).toEqual(["https://app.example.com"]);
	});

	it("refuses a short token, naming API_TOKENS without echoing it", () => {
		const parse = () =>
			parseConfig({ APP_ENV: "test", MAIL_FROM: "a@example.com", TASKS_DEAD_LETTER_QUEUE: "q", API_TOKENS: "short" });
		expect(parse).toThrow(/API_TOKENS: each token must be at least 16 characters/);
		expect(parse).not.toThrow(/short/);
	});

	it("names every bad variable", () => {
		const parse = () => parseConfig({ APP_ENV: "staging", MAIL_FROM: "nobody", MAX_BODY_BYTES: "12" });
		expect(parse).toThrow(ConfigError);
		expect(parse).toThrow(/APP_ENV: .*MAIL_FROM: .*MAX_BODY_BYTES: /);
	});

	it("answers 500 config_error naming the variable when the Worker is misconfigured", async () => {
		const broken = { ...env, MAIL_FROM: "not-an-address" };
		const res = await worker.fetch(new Request("https://edge-tasks.test/health"), broken, createExecutionContext());
		expect(res.status).toBe(500);
		const body = await res.json<{ error: { code: string; message: string } }>();
		expect(body.error.code).toBe("config_error");
		expect(body.error.message).toContain("MAIL_FROM");
	});
});
