// Another Worker that enqueues through edge-tasks' RPC entrypoint and waits
// for the result. Its wrangler.toml binds the entrypoint:
//
//   [[services]]
//   binding = "TASKS"
//   service = "edge-tasks"
//   entrypoint = "TasksService"
//
// Task names and inputs are checked at compile time against edge-tasks' task
// list (a wrong input for send_email does not compile). test/app/rpc.test.ts
// runs it beside edge-tasks.
import type { TasksService } from "../src/index";

export type Tasks = Service<typeof TasksService>;

/** Queues a welcome email and waits up to 10 s for its outcome. */
export async function welcome(tasks: Tasks, to: string) {
	const { taskId } = await tasks.enqueue("send_email", { recipient: to, subject: "Hello", body: "From another Worker" });
	return tasks.wait(taskId, { timeoutSeconds: 10 });
}

export default {
	async fetch(request, env) {
		const to = new URL(request.url).searchParams.get("to") ?? "ada@example.com";
		return Response.json(await welcome(env.TASKS, to));
	},
} satisfies ExportedHandler<{ TASKS: Tasks }>;
