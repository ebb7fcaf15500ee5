// The Worker entry: HTTP API on fetch, the task consumer on queue, periodic
// tasks on scheduled.
import { createApp } from "./app";
import { runSchedule } from "./scheduled";
import { consumeBatch } from "./tasks/consumer";

const app = createApp();

export default {
	fetch: app.fetch,
	queue: (batch, env) => consumeBatch(batch, env),
	scheduled: (controller, env) => runSchedule(controller, env),
} satisfies ExportedHandler<Env, unknown>;
