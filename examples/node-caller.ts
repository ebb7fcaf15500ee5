// A caller outside Cloudflare (Node 22+), typed from the API's own
// description: openapi-fetch with the types in examples/client/api.d.ts (npm
// run client regenerates them; CI fails when they are stale). It queues an
// email by name, waits for it in the same request, and prints the outcome.
//   EDGE_TASKS_URL=http://localhost:8787 EDGE_TASKS_TOKEN=... node examples/node-caller.ts
import createClient from "openapi-fetch";
import type { paths } from "./client/api";

const client = createClient<paths>({
	baseUrl: process.env.EDGE_TASKS_URL ?? "http://localhost:8787",
	headers: { Authorization: `Bearer ${process.env.EDGE_TASKS_TOKEN ?? "dev-token-change-me-0123456789"}` },
});

const queued = await client.POST("/tasks", {
	body: { name: "send_email", input: { recipient: "ada@example.com", subject: "Hello", body: "From Node" } },
});
if (!queued.data) throw new Error(`not queued: ${JSON.stringify(queued.error)}`);

const done = await client.GET("/tasks/{task_id}", {
	params: { path: { task_id: queued.data.task_id }, query: { wait: 10 } },
});
if (!done.data) throw new Error(`not read: ${JSON.stringify(done.error)}`);
console.log(`${done.data.name} ${done.data.status}: ${JSON.stringify(done.data.result)}`);
if (done.data.status !== "SUCCESS") process.exit(1);
