// Every task the consumer can run, by name. A task must be listed here to be
// runnable; enqueue takes the definition itself.
import { dailySummary } from "./daily-summary";
import type { TaskDefinition } from "./define";
import { expireResults } from "./expire-results";
import { processPendingUsers } from "./process-pending-users";
import { processUserData } from "./process-user-data";
import { recoverStuckTasks } from "./recover-stuck-tasks";
import { sendEmail } from "./send-email";

export const allTasks: readonly TaskDefinition[] = [
	sendEmail,
	processUserData,
	processPendingUsers,
	expireResults,
	recoverStuckTasks,
	dailySummary,
];

export type Registry = ReadonlyMap<string, TaskDefinition>;

export const registryOf = (list: readonly TaskDefinition[]): Registry => new Map(list.map((task) => [task.name, task]));

export const registry: Registry = registryOf(allTasks);
