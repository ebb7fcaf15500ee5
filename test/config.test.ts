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
			maxBodyBytes: 65_536,
			deadLetterQueue: "dlq",
			idempotencyTtlSeconds: 86_400,
		});
		expect(Object.isFrozen(config)).toBe(true);
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
