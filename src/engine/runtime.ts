// What the engine itself works with for one env: its drizzle client, its
// config, a logger and the producer. Built per request or batch from the
// bindings the app hands in; the parts that need no rebuilding are cached per
// isolate. It is also the context the engine's built-in tasks run with.
import type { EngineConfig } from "./config";
import type { EngineDb } from "./db";
import type { TaskDefinition } from "./define";
import type { FlowControl } from "./flow/control";
import type { TaskIds } from "./ids";
import type { Logger } from "./log";
import type { Producer } from "./producer";

export interface Runtime {
	readonly db: EngineDb;
	readonly config: EngineConfig;
	readonly log: Logger;
	readonly producer: Producer;
	/** The flow limiters (rate, concurrency, debounce), if the app bound them. */
	readonly flow: DurableObjectNamespace<FlowControl> | undefined;
	/** Mints task ids and tells the ones this deployment minted. */
	readonly ids: TaskIds;
	/** A registered task, by name (its context type aside); undefined for a name not registered. */
	taskOf(name: string): TaskDefinition<never> | undefined;
}
