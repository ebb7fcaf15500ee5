// Another Worker (examples/rpc-caller.ts, run as an auxiliary worker) enqueues
// through the TasksService entrypoint and waits for the result, with no token.
// In the test pool the Worker under test runs under a generated name, so the
// caller is handed the entrypoint (exports.TasksService, its loopback binding)
// over RPC instead of binding it by name.
import { createExecutionContext } from "cloudflare:test";
import { env, exports, RpcTarget } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { TasksService } from "../../src/index";
import { createUser, taskRow } from "./helpers";

describe("the RPC entrypoint", () => {
	it("another Worker enqueues send_email and waits: SUCCESS, in one call", async () => {
		// The loopback stub itself cannot be sent to another Worker; an RpcTarget
		// that forwards to it can, and the other Worker calls it as its binding.
		const entrypoint = exports.TasksService;
		class Forward extends RpcTarget {
			enqueue(...args: Parameters<typeof entrypoint.enqueue>) {
				return entrypoint.enqueue(...args);
			}
			wait(...args: Parameters<typeof entrypoint.wait>) {
				return entrypoint.wait(...args);
			}
		}
		const tasks = new Forward() as unknown as Parameters<typeof env.RPC_CALLER.welcome>[0];
		const task = await env.RPC_CALLER.welcome(tasks, "grace@example.com");
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

	it("runs a chord through the entrypoint and reads it back as GET /workflows/:id answers it", async () => {
		const service = exports.TasksService;
		const user = await createUser();
		const { workflowId, taskIds } = await service.chord([{ name: "process_user_data", input: { user_id: user.id } }], {
			name: "send_report",
			input: { to: "ops@example.com" },
		});
		expect(taskIds).toHaveLength(2);
		const done = await vi.waitUntil(
			async () => {
				const body = await service.workflow(workflowId);
				return body.status === "SUCCESS" ? body : undefined;
			},
			{ timeout: 5000, interval: 20 },
		);
		expect(done).toMatchObject({ kind: "chord", result: { to: "ops@example.com", succeeded: 1, failed: 0 } });
		// On the class itself, as above: a refusal's message names the kind.
		await expect(new TasksService(createExecutionContext(), env).revokeWorkflow(workflowId)).rejects.toThrow(
			/^illegal_transition: Workflow is SUCCESS/,
		);
	});
});
