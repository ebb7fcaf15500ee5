// Compile-time only (tsc -p test): what the RPC entrypoint's types refuse.
// Each @ts-expect-error fails the type check if the line below it compiles.
import type { TasksService } from "../../src/index";

export async function callers(tasks: Service<typeof TasksService>) {
	await tasks.enqueue("send_email", { recipient: "ada@example.com", subject: "Hi", body: "Body" });
	await tasks.enqueue("process_user_data", { user_id: 1 }, { idempotencyKey: "k", delaySeconds: 60 });
	// @ts-expect-error send_email takes a recipient, a subject and a body, not a user id
	await tasks.enqueue("send_email", { user_id: 1 });
	// @ts-expect-error no task of this name
	await tasks.enqueue("resize_image", {});
	// @ts-expect-error the maintenance built-ins are not callable
	await tasks.enqueue("expire_results", {});
	await tasks.enqueueMany([
		{ name: "process_user_data", input: { user_id: 1 } },
		{ name: "daily_summary", input: { hours: 2 } },
	]);
	// @ts-expect-error process_user_data's user_id is a number
	await tasks.enqueueMany([{ name: "process_user_data", input: { user_id: "1" } }]);
	await tasks.chord([{ name: "process_user_data", input: { user_id: 1 } }], {
		name: "send_report",
		input: { to: "ops@example.com" },
	});
	await tasks.chain([
		{ name: "process_user_data", input: { user_id: 1 } },
		{ name: "send_email", input: { recipient: "ada@example.com", subject: "Done" }, resultAs: "body" },
	]);
	// @ts-expect-error a step receives what came before only in one of its own input fields
	await tasks.chain([{ name: "send_email", input: { recipient: "ada@example.com" }, resultAs: "user_id" }]);
	// @ts-expect-error without resultAs, a step's input is whole
	await tasks.group([{ name: "send_email", input: { recipient: "ada@example.com" } }]);
}
