// Every task the consumer can run, by name. A task must be listed here to be
// runnable; enqueue takes the definition itself.
import type { TaskDefinition } from "./define";
import { processUserData } from "./process-user-data";
import { sendEmail } from "./send-email";

export const allTasks: readonly TaskDefinition[] = [sendEmail, processUserData];

export const registry: ReadonlyMap<string, TaskDefinition> = new Map(allTasks.map((task) => [task.name, task]));
