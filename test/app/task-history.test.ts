// Each failed attempt is appended to the task's history by the same UPDATE that
// records the transition: the dashboard's timeline reads it.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { recoverStuckTasks } from "../../src/engine/builtins/recover-stuck-tasks";
import { failNow } from "../../src/engine/store/tasks";
import { call, claimTask, deliver, failD1When, recorded, taskRow, testContext } from "./helpers";

afterEach(() => vi.restoreAllMocks());

const email = { recipient: "ada@example.com", subject: "Hi", body: "Body" };

describe("task history", () => {
	it("records each retry with its error and delay, then the failure, in order", async () => {
		vi.spyOn(Math, "random").mockReturnValue(0.999_999);
		let failures = 0;
		vi.spyOn(env.MAILER, "send").mockImplementation(async () => {
			throw new Error(`upstream timeout #${++failures}`);
		});
		const envelope = await recorded("send_email", email);
		const before = Date.now();

		const delays: (number | undefined)[] = [];
		for (let attempts = 1; attempts <= 6; attempts++) {
			const { retried } = await deliver([envelope], { attempts });
			delays.push(retried[0]?.delaySeconds);
		}

		expect(delays).toEqual([5, 10, 20, 40, 80, undefined]);
		const task = await taskRow(envelope.id);
		expect(task?.status).toBe("FAILURE");
		expect(task?.history.map(({ at: _, ...entry }) => entry)).toEqual([
			...[1, 2, 3, 4, 5].map((attempt, i) => ({
				attempt,
				status: "RETRY",
				error: `upstream timeout #${attempt}`,
				delaySeconds: [5, 10, 20, 40, 80][i],
			})),
			{ attempt: 6, status: "FAILURE", error: "upstream timeout #6", delaySeconds: null },
		]);
		const times = task?.history.map((entry) => entry.at) ?? [];
		expect(times).toEqual([...times].sort((a, b) => a - b));
		expect(times[0]).toBeGreaterThanOrEqual(before);
	});

	it("costs no extra statement: the RETRY update carries the entry", async () => {
		vi.spyOn(env.MAILER, "send").mockRejectedValueOnce(new Error("upstream timeout"));
		const envelope = await recorded("send_email", email);
		const statements: string[] = [];
		failD1When((sql) => {
			statements.push(sql);
			return false;
		});

		await deliver([envelope]);

		// The only statement that touches history is the one that records RETRY.
		const historyWrites = statements.filter((sql) => sql.includes("history"));
		expect(historyWrites).toHaveLength(1);
		expect(historyWrites[0]).toContain("SET status = 'RETRY'");
		expect(historyWrites[0]).toContain("json_insert");
		expect((await taskRow(envelope.id))?.history).toHaveLength(1);
	});

	it("records a failure before any run (poison, dead letter, enqueue failed) as attempt 0", async () => {
		const poisoned = await recorded("send_email", email);
		await deliver([{ ...poisoned, input: { recipient: "not an address" } }]);
		const deadLettered = await recorded("send_email", email);
		await deliver([deadLettered], { queue: "edge-tasks-dev-dlq" });
		const [a, b] = [await recorded("process_user_data", { user_id: 1 }), await recorded("process_user_data", { user_id: 2 })];
		const db = testContext().db;
		const error = "enqueue failed: queue down";
		const enqueuedAt = new Date();
		await failNow(db, [
			{ id: a.id, name: a.name, payload: { user_id: 1 }, enqueuedAt, error },
			{ id: b.id, name: b.name, payload: { user_id: 2 }, enqueuedAt, error },
		]);

		const entries = async (id: string) =>
			(await taskRow(id))?.history.map(({ attempt, status, error }) => ({ attempt, status, error }));
		expect(await entries(poisoned.id)).toEqual([
			{ attempt: 0, status: "FAILURE", error: expect.stringContaining("invalid input") },
		]);
		expect(await entries(deadLettered.id)).toEqual([{ attempt: 0, status: "FAILURE", error: "dead-lettered" }]);
		for (const id of [a.id, b.id]) {
			expect(await entries(id)).toEqual([{ attempt: 0, status: "FAILURE", error: "enqueue failed: queue down" }]);
		}
	});

	it("records a lease that expired, when stuck-task recovery sends the task again", async () => {
		const stuck = await recorded("send_email", email);
		await claimTask(stuck, 60);
		await env.DB.prepare("UPDATE tasks SET lease_expires_at = ? WHERE id = ?")
			.bind(Date.now() - 1000, stuck.id)
			.run();
		await testContext().tasks.apply(recoverStuckTasks, {});
		expect((await taskRow(stuck.id))?.history).toMatchObject([
			{ attempt: 1, status: "RETRY", error: "the lease expired; redelivered by recovery", delaySeconds: 0 },
		]);
	});

	it("is part of GET /tasks/:id: each failed attempt with its error and delay", async () => {
		vi.spyOn(Math, "random").mockReturnValue(0.5);
		vi.spyOn(env.MAILER, "send").mockRejectedValueOnce(new Error("SMTP 421: try again later"));
		const envelope = await recorded("send_email", email);
		const { retried } = await deliver([envelope]);
		await deliver([envelope], { attempts: 2 });

		const res = await call(`/tasks/${envelope.id}`);
		const body = await res.json<{ status: string; history: { at: string }[] }>();
		expect(body.status).toBe("SUCCESS");
		expect(body.history).toEqual([
			{
				attempt: 1,
				at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
				status: "RETRY",
				error: "SMTP 421: try again later",
				delay_seconds: retried[0]?.delaySeconds,
			},
		]);
	});

	it("starts empty and stays empty on success", async () => {
		const envelope = await recorded("process_user_data", { user_id: 1 });
		expect((await taskRow(envelope.id))?.history).toEqual([]);
		await deliver([envelope]);
		expect(await taskRow(envelope.id)).toMatchObject({ status: "SUCCESS", history: [] });
	});
});
