// Periodic tasks: cron triggers enqueue through the normal path, once per fire.
import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker, { engine } from "../../src/index";
import wranglerToml from "../../wrangler.toml?raw";
import { call } from "./helpers";

afterEach(() => vi.restoreAllMocks());

/** The crons of each `[triggers]` / `[env.<name>.triggers]` table. */
function cronsByEnvironment(toml: string): Record<string, string[]> {
	const found: Record<string, string[]> = {};
	for (const match of toml.matchAll(/^\[(?:env\.(\w+)\.)?triggers\]\s*\ncrons\s*=\s*\[([^\]]*)\]/gm)) {
		found[match[1] ?? "top level"] = [...(match[2] ?? "").matchAll(/"([^"]+)"/g)].map((m) => m[1] ?? "");
	}
	return found;
}

async function fire(cron: string, scheduledTime: number) {
	const controller = createScheduledController({ cron, scheduledTime });
	await worker.scheduled(controller, env);
}

describe("schedule", () => {
	it("has exactly the crons wrangler.toml triggers, in both environments", () => {
		const declared = [...new Set(engine.schedules.map((entry) => entry.cron))].sort();
		const triggers = cronsByEnvironment(wranglerToml);
		expect(Object.keys(triggers).sort()).toEqual(["production", "top level"]);
		for (const crons of Object.values(triggers)) expect([...crons].sort()).toEqual(declared);
	});

	it("names only registered tasks, with valid input, under unique names; the built-ins are scheduled too", () => {
		const { schedules } = engine;
		expect(new Set(schedules.map((e) => e.name)).size).toBe(schedules.length);
		expect(schedules.map((e) => e.task.name)).toEqual(expect.arrayContaining(["expire_results", "recover_stuck_tasks"]));
		for (const entry of schedules) {
			expect(engine.names).toContain(entry.task.name);
			expect(entry.task.input.safeParse(entry.input).success).toBe(true);
		}
	});

	it("enqueues the due tasks once per fire, even when the trigger fires twice", async () => {
		const send = vi.spyOn(env.TASKS, "send");
		const at = Date.UTC(2026, 10, 24, 6, 0);
		await fire("0 6 * * *", at);
		await fire("0 6 * * *", at);

		expect(send).toHaveBeenCalledTimes(1);
		expect(send.mock.calls[0]?.[0]).toMatchObject({ name: "daily_summary" });
		const listed = await (await call("/tasks?name=daily_summary")).json<{ tasks: { task_id: string }[] }>();
		const sent = send.mock.calls[0]?.[0] as { id: string } | undefined;
		expect(listed.tasks.map((t) => t.task_id)).toEqual([sent?.id]);

		await fire("0 6 * * *", at + 86_400_000); // the next day is a new run
		expect(send).toHaveBeenCalledTimes(2);
	});

	it("logs and ignores a cron with no schedule entry", async () => {
		const send = vi.spyOn(env.TASKS, "send");
		await fire("1 1 1 1 *", Date.now());
		expect(send).not.toHaveBeenCalled();
	});
});
