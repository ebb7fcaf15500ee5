// The TasksService entrypoint over a real RPC stub (exports.TasksService, the
// loopback service binding the runtime gives every named entrypoint), driven
// by examples/rpc-caller.ts's own code: enqueue, then wait, with no token.
import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { welcome } from "../../examples/rpc-caller";
import { TasksService } from "../../src/index";
import { taskRow } from "./helpers";

describe("the RPC entrypoint", () => {
	it("enqueues send_email and waits: SUCCESS, in one call", async () => {
		const task = await welcome(exports.TasksService, "grace@example.com");
		expect(task).toMatchObject({ name: "send_email", status: "SUCCESS", result: "Email sent to grace@example.com" });
		expect(await taskRow(task?.task_id ?? "")).toMatchObject({ status: "SUCCESS" });
	});

	it("refuses a wrong input at run time too (a JavaScript caller is not type-checked), naming the kind", async () => {
		// Called on the class itself: RPC carries the message; what is tested is the message.
		const service = new TasksService(createExecutionContext(), env) as unknown as {
			enqueue(name: string, input: unknown): Promise<unknown>;
		};
		await expect(service.enqueue("send_email", { user_id: 1 })).rejects.toThrow(
			/^invalid_input: Invalid input for task send_email/,
		);
		await expect(service.enqueue("expire_results", {})).rejects.toThrow(/^unknown_task: /);
	});

	it("keeps idempotency keys: the same key and input answer with the same task", async () => {
		const key = crypto.randomUUID();
		const first = await exports.TasksService.enqueue("process_user_data", { user_id: 1 }, { idempotencyKey: key });
		const again = await exports.TasksService.enqueue("process_user_data", { user_id: 1 }, { idempotencyKey: key });
		expect(again).toEqual({ taskId: first.taskId, replayed: true });
	});
});
