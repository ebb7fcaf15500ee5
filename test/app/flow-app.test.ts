// The seed app's flow limits, each one line on its task: send_email per
// recipient domain (EMAIL_RATE_PER_DOMAIN a minute), process_user_data one at
// a time per user, daily_summary debounced. The engine's own tests
// (test/engine/flow-control.test.ts) show the limits hold; these show the app
// asks for the right ones, and that a low configured rate holds emails back.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createScopes } from "../../src/engine/engine";
import { executeBatch } from "../../src/engine/execute";
import { engineOptions } from "../../src/index";
import { dailySummary } from "../../src/tasks/daily-summary";
import { processUserData } from "../../src/tasks/process-user-data";
import { sendEmail } from "../../src/tasks/send-email";
import { testContext } from "./helpers";

describe("the seed app's flow limits", () => {
	it("keys send_email by recipient domain, process_user_data by user, daily_summary by its window", () => {
		expect(sendEmail.rateLimit?.key?.({ recipient: "Ada@Example.COM", subject: "s", body: "b" })).toBe("example.com");
		expect(sendEmail.rateLimit?.periodSeconds).toBe(60);
		expect(processUserData.concurrencyLimit).toMatchObject({ limit: 1 });
		expect(processUserData.concurrencyLimit?.key?.({ user_id: 7 })).toBe("7");
		expect(dailySummary.debounce?.key?.({ hours: 24 })).toBe("24");
	});

	it("holds send_email back once a domain has had EMAIL_RATE_PER_DOMAIN starts this minute", async () => {
		const scopes = createScopes({ ...engineOptions });
		const scope = scopes.scopeOf({ ...env, EMAIL_RATE_PER_DOMAIN: "2" });
		expect(scope.ctx.config.emailRatePerDomain).toBe(2);
		const email = (to: string) => ({
			body: { id: crypto.randomUUID(), name: "send_email", input: { recipient: to, subject: "Hi", body: "Hello" } },
			enqueuedAt: new Date(),
		});
		const decisions = await executeBatch(scope, [
			email("a@rate.example"),
			email("b@rate.example"),
			email("c@rate.example"),
			email("d@other.example"),
		]);
		expect(decisions.map((d) => d.outcome)).toEqual(["success", "success", "waiting", "success"]);
		const task = await testContext().tasks.get(decisions[2]?.outcome === "waiting" ? decisions[2].taskId : "");
		expect(task).toMatchObject({ status: "PENDING", waiting: "rate_limited", attempts: 0 });
	});
});
