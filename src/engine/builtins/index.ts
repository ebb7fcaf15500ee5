// The engine's own tasks (Celery's celery/app/builtins.py): registered by
// createEngine, scheduled on their own crons, never callable by a client.
import type { TaskDefinition } from "../define";
import type { Runtime } from "../runtime";
import { deliverWebhook } from "./deliver-webhook";
import { expireResults } from "./expire-results";
import { recoverStuckTasks } from "./recover-stuck-tasks";
import { releaseDueTasks } from "./release-due-tasks";

export { expireResults, recoverStuckTasks, releaseDueTasks };

export const builtins: readonly TaskDefinition<Runtime>[] = [expireResults, recoverStuckTasks, deliverWebhook, releaseDueTasks];

/** When the built-ins run unless the app says otherwise: release every minute, recovery every 5 minutes, expiry hourly. */
export const DEFAULT_MAINTENANCE_CRONS = {
	releaseDueTasks: "* * * * *",
	recoverStuckTasks: "*/5 * * * *",
	expireResults: "17 * * * *",
} as const;
