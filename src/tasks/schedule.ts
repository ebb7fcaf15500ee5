// Periodic tasks: Celery beat's beat_schedule, declared next to the tasks.
// Each cron here must also be a trigger in wrangler.toml, in both
// environments (test/schedule.test.ts checks it); Cloudflare fires scheduled()
// with the cron that matched, and every entry with that cron is enqueued.
import type * as z from "zod";
import { dailySummary } from "./daily-summary";
import type { TaskDefinition } from "./define";
import { expireResults } from "./expire-results";
import { processPendingUsers } from "./process-pending-users";
import { recoverStuckTasks } from "./recover-stuck-tasks";

export interface ScheduleEntry<S extends z.ZodType = z.ZodType> {
	/** Stable name: part of the idempotency key that makes a double-fired trigger enqueue once. */
	name: string;
	cron: string;
	task: TaskDefinition<S>;
	input: z.input<S>;
}

const entry = <S extends z.ZodType>(e: ScheduleEntry<S>): ScheduleEntry => e as unknown as ScheduleEntry;

export const schedule: readonly ScheduleEntry[] = [
	entry({ name: "recover-stuck-tasks", cron: "*/5 * * * *", task: recoverStuckTasks, input: {} }),
	entry({ name: "expire-results", cron: "17 * * * *", task: expireResults, input: {} }),
	entry({ name: "daily-summary", cron: "0 6 * * *", task: dailySummary, input: {} }),
	entry({ name: "process-pending-users", cron: "30 2 * * *", task: processPendingUsers, input: {} }),
];
