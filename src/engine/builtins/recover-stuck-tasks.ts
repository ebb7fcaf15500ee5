// Stuck-task recovery: finds tasks nobody is going to finish and delivers them
// again (the same task id, not a new task), up to the task's retry limit.
// - STARTED whose lease expired: the consumer died mid-run (or its message was
//   dead-lettered while the row stayed STARTED).
// - PENDING long past due and untouched, or RETRY long past its next attempt:
//   its message was lost. Only if the queue cannot still hold it: while the
//   queue keeps messages sent before the task was enqueued, a backlog or a
//   consumer outage explains the wait, and re-sending would only add to it.
// Redelivering is safe: the consumer claims atomically, so a message that was
// only late and the recovery's copy still run the task once.
// It also dispatches the completion webhooks that nothing dispatched when
// their task finished (webhooks/dispatch.ts).
import * as z from "zod";
import { defineTask } from "../define";
import type { Backlog } from "../producer";
import type { Runtime } from "../runtime";
import type { TaskRow } from "../schema";
import { owingWebhooks } from "../store/callbacks";
import { SEND_GRACE_SECONDS } from "../store/keys";
import { applyStuckMoves, findStuck, type StuckMove } from "../store/maintenance";
import { abandonedAfter } from "../store/tasks";
import { dispatchWebhooks } from "../webhooks/dispatch";

const LEASE_EXPIRED = "the lease expired; redelivered by recovery";

// Right after a task finishes, its consumer dispatches its webhook; the sweep
// leaves it that long before doing so itself.
const WEBHOOK_GRACE_SECONDS = 60;

/**
 * A task whose message was sent before this instant cannot still be waiting on
 * the queue: it holds nothing that old (store/maintenance.ts reads when that was). A task's row is written before its message is sent
 * (keyed, delayed and bulk enqueues), so the oldest message can be a little
 * younger than its own row: the bound allows the longest a send takes.
 * Undefined when the queue is empty.
 */
function queueHoldsSince(backlog: Backlog): Date | undefined {
	if (backlog.messages === 0) return undefined;
	return new Date((backlog.oldestSentAt?.getTime() ?? 0) - SEND_GRACE_SECONDS * 1000);
}

/** What recovery does with one stuck task. */
function moveFor(rt: Runtime, task: TaskRow): StuckMove {
	const maxRetries = rt.taskOf(task.name)?.retry.maxRetries;
	const used = task.status === "STARTED" ? task.attempts : task.recoveries;
	if (maxRetries === undefined || used > maxRetries) {
		const error =
			task.status === "STARTED"
				? abandonedAfter(task.attempts)
				: `lost: the message never arrived after ${task.recoveries} re-send(s)`;
		return { task, to: "FAILURE", error };
	}
	if (task.status === "STARTED") return { task, to: "RETRY", error: LEASE_EXPIRED };
	return { task, to: task.status === "RETRY" ? "RETRY" : "PENDING", resend: true };
}

export const recoverStuckTasks = defineTask({
	name: "recover_stuck_tasks",
	input: z.object({ limit: z.number().int().min(1).max(500).default(200) }).strict(),
	retry: { maxRetries: 2 },
	async run(rt: Runtime, { limit }) {
		const now = new Date();
		const stale = new Date(now.getTime() - rt.config.stuckPendingSeconds * 1000);
		const stuck = await findStuck(rt.db, {
			now,
			stale,
			queueHoldsSince: queueHoldsSince(await rt.producer.backlog()),
			limit,
		});
		const moves = stuck.map((task) => moveFor(rt, task));
		const moved = await applyStuckMoves(rt.db, moves, now);

		const resend: TaskRow[] = [];
		let failed = 0;
		moves.forEach((move, i) => {
			const row = moved[i];
			if (!row) return;
			if (move.to !== "FAILURE") {
				resend.push(row);
				return;
			}
			failed++;
			const { id, name, status } = move.task;
			rt.log.warn("task transition", { task_id: id, name, from: status, to: "FAILURE", error: move.error });
		});

		// If the send fails, the moved tasks are RETRY or PENDING without a
		// message; a later run finds them stale and sends them again.
		const resent = rt.producer
			.send(
				resend.map((task) => ({ envelope: { id: task.id, name: task.name, input: task.payload } })),
				"tasks redelivered",
			)
			.then(
				() => undefined,
				(err: unknown) => err,
			);
		// Webhooks nothing dispatched when their task finished: a crash in
		// between, a dead letter, a poison message, a failure recorded above.
		// Dispatched even when the re-send above failed; that failure is still the run's.
		const owing = await owingWebhooks(rt.db, new Date(now.getTime() - WEBHOOK_GRACE_SECONDS * 1000), limit);
		const webhooks = await dispatchWebhooks(
			rt,
			owing.map((task) => task.id),
		);
		const resendFailure = await resent;
		if (resendFailure !== undefined) throw resendFailure;
		const result = { redelivered: resend.length, failed, ids: resend.map((t) => t.id), webhooks_dispatched: webhooks };
		rt.log.info("stuck tasks recovered", result);
		return result;
	},
});
