// The Worker entry: HTTP API on fetch, the task consumer on queue.
import { createApp } from "./app";
import { consumeBatch } from "./tasks/consumer";

const app = createApp();

export default {
	fetch: app.fetch,
	queue: (batch, env) => consumeBatch(batch, env),
} satisfies ExportedHandler<Env, unknown>;
