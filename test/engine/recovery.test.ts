// Recovery re-sends a PENDING task only when the queue cannot still hold its
// message. A keyed, delayed or bulk task's row is written just before its
// message is sent, so the comparison allows for the send.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import * as z from "zod";
import { defineTask } from "../../src/engine/define";
import { SEND_GRACE_SECONDS } from "../../src/engine/store/keys";
import { recorded, row, type StandInContext, standInEngine } from "./harness";

afterEach(() => vi.restoreAllMocks());

const noop = defineTask({ name: "noop", input: z.object({}), run: async (_ctx: StandInContext) => null });
const engine = standInEngine([noop]);

/** A PENDING task recorded 20 minutes ago and untouched since: stale, unless its message is still queued. */
async function staleTask() {
	const task = await recorded("noop", {});
	const createdAt = Date.now() - 20 * 60_000;
	await env.DB.prepare("UPDATE tasks SET created_at = ?1, updated_at = ?1, due_at = ?1 WHERE id = ?2")
		.bind(createdAt, task.id)
		.run();
	return { id: task.id, createdAt };
}

async function recoverWithOldestMessageAt(oldest: number) {
	vi.spyOn(env.ENGINE_TEST_QUEUE, "metrics").mockResolvedValue({
		backlogCount: 5,
		backlogBytes: 1000,
		oldestMessageTimestamp: new Date(oldest),
	});
	const run = await engine.client().apply(engine.registry.get("recover_stuck_tasks")?.task ?? noop, {});
	return run.result as { ids: string[] };
}

describe("recovery in a backlog", () => {
	it("leaves a task whose message was sent just after its row was written: it is the oldest on the queue", async () => {
		const task = await staleTask();
		const { ids } = await recoverWithOldestMessageAt(task.createdAt + 500);
		expect(ids).not.toContain(task.id);
		expect(await row(task.id)).toMatchObject({ status: "PENDING", recoveries: 0 });
	});

	it("re-sends one recorded longer before the oldest message than any send takes", async () => {
		const task = await staleTask();
		const { ids } = await recoverWithOldestMessageAt(task.createdAt + (SEND_GRACE_SECONDS + 1) * 1000);
		expect(ids).toContain(task.id);
		expect(await row(task.id)).toMatchObject({ status: "PENDING", recoveries: 1 });
	});
});
