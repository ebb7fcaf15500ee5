// Every task the consumer can run, by name: the app's tasks and the engine's
// built-ins. A built-in runs with the engine's own runtime as its context; an
// app task with the context the app's factory built for the batch.
import type { TaskDefinition } from "./define";
import type { Runtime } from "./runtime";

export type Registered<Ctx> =
	| { readonly builtin: false; readonly task: TaskDefinition<Ctx> }
	| { readonly builtin: true; readonly task: TaskDefinition<Runtime> };

export type Registry<Ctx> = ReadonlyMap<string, Registered<Ctx>>;

export function createRegistry<Ctx>(
	tasks: readonly TaskDefinition<Ctx>[],
	builtins: readonly TaskDefinition<Runtime>[],
): Registry<Ctx> {
	const registry = new Map<string, Registered<Ctx>>();
	const add = (entry: Registered<Ctx>) => {
		if (registry.has(entry.task.name)) throw new Error(`two tasks are named "${entry.task.name}"`);
		registry.set(entry.task.name, entry);
	};
	for (const task of tasks) add({ builtin: false, task });
	for (const task of builtins) add({ builtin: true, task });
	return registry;
}
