// The scheduled() side: Celery beat. Each cron trigger enqueues its schedule
// entries through the normal enqueue path, so they show in the task list like
// any other task. The idempotency key is the entry and the scheduled time, so
// a trigger that fires twice for the same minute enqueues once.
import type * as z from "zod";
import type { TaskRef } from "./define";
import { errorMessage } from "./log";
import type { Runtime } from "./runtime";

export interface ScheduleEntry<S extends z.ZodType = z.ZodType> {
	/** Stable name: part of the idempotency key that makes a double-fired trigger enqueue once. */
	name: string;
	/** A cron expression; it must also be a trigger in wrangler.toml, in every environment. */
	cron: string;
	task: TaskRef<S>;
	input: z.input<S>;
}

/** A typed schedule entry: the input is checked against the task's schema at compile time. */
export const schedule = <S extends z.ZodType>(entry: ScheduleEntry<S>): ScheduleEntry => entry as unknown as ScheduleEntry;

export async function runSchedule(
	rt: Runtime,
	entries: readonly ScheduleEntry[],
	controller: ScheduledController,
): Promise<void> {
	const due = entries.filter((entry) => entry.cron === controller.cron);
	if (due.length === 0) {
		rt.log.warn("cron trigger with no schedule entry", { cron: controller.cron });
		return;
	}
	const failures: string[] = [];
	for (const entry of due) {
		const idempotencyKey = `schedule:${entry.name}:${new Date(controller.scheduledTime).toISOString()}`;
		try {
			const { id, replayed } = await rt.producer.enqueue(entry.task, entry.input, { idempotencyKey });
			rt.log.info("schedule fired", { schedule: entry.name, task_id: id, replayed });
		} catch (err) {
			failures.push(entry.name);
			rt.log.error("schedule failed to enqueue", { schedule: entry.name, error: errorMessage(err) });
		}
	}
	// Throwing marks the invocation failed in the dashboard; the others were still enqueued.
	if (failures.length > 0) throw new Error(`could not enqueue: ${failures.join(", ")}`);
}
