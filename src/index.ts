// The Worker entry and the one place the app and the engine meet: the engine
// gets the app's tasks, schedules and context factory; the app's HTTP API gets
// the engine's contexts. fetch serves the API, queue consumes the tasks,
// scheduled fires the periodic ones.
import { createApp } from "./app";
import type { AppContext } from "./context";
import { createContext } from "./context";
import { createEngine, type EngineOptions } from "./engine";
import { tasksService } from "./rpc";
import { schedules, tasks } from "./tasks";

export const engineOptions: EngineOptions<Env, AppContext> = {
	tasks,
	schedules,
	bindings: (env) => ({ db: env.DB, queue: env.TASKS, flow: env.FLOW, vars: env, logFields: { app_env: env.APP_ENV } }),
	context: createContext,
};

export const engine = createEngine(engineOptions);

const app = createApp(engine.context);

/** The Durable Object that keeps the tasks' flow limits (wrangler.toml binds it as FLOW). */
export { FlowControl } from "./engine";

/** The RPC entrypoint for other Workers: bind it with `entrypoint = "TasksService"` (docs/rpc.md). */
export const TasksService = tasksService(engine.context);

export default {
	fetch: app.fetch,
	queue: engine.consume,
	scheduled: engine.scheduled,
} satisfies ExportedHandler<Env, unknown>;
