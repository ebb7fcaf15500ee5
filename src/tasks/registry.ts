// Every task the consumer can run, by name. A task must be listed here to be
// runnable; enqueue takes the definition itself.
import type { TaskDefinition } from "./define";
import { processUserData } from "./process-user-data";
import { sendEmail } from "./send-email";

export const allTasks: readonly TaskDefinition[] = [sendEmail, processUserData];

export type Registry = ReadonlyMap<string, TaskDefinition>;

export const registryOf = (list: readonly TaskDefinition[]): Registry => new Map(list.map((task) => [task.name, task]));

export const registry: Registry = registryOf(allTasks);
