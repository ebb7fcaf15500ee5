// The scheduled() side: Celery beat. Each cron trigger enqueues its schedule
// entries through the normal enqueue path, so they show in GET /tasks like any
// other task. The idempotency key is the entry and the scheduled time, so a
// trigger that fires twice for the same minute enqueues once.
import { createContext } from "./context";
import { errorMessage } from "./log";
import { schedule } from "./tasks/schedule";

export async function runSchedule(controller: ScheduledController, env: Env): Promise<void> {
	const ctx = createContext(env, { cron: controller.cron });
	const due = schedule.filter((entry) => entry.cron === controller.cron);
	if (due.length === 0) {
		ctx.log.warn("cron trigger with no schedule entry", { cron: controller.cron });
		return;
	}
	const failures: string[] = [];
	for (const entry of due) {
		const idempotencyKey = `schedule:${entry.name}:${new Date(controller.scheduledTime).toISOString()}`;
		try {
			const { id, replayed } = await ctx.tasks.enqueue(entry.task, entry.input, { idempotencyKey });
			ctx.log.info("schedule fired", { schedule: entry.name, task_id: id, replayed });
		} catch (err) {
			failures.push(entry.name);
			ctx.log.error("schedule failed to enqueue", { schedule: entry.name, error: errorMessage(err) });
		}
	}
	// Throwing marks the invocation failed in the dashboard; the others were still enqueued.
	if (failures.length > 0) throw new Error(`could not enqueue: ${failures.join(", ")}`);
}
