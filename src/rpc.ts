// TasksService: the task API for other Workers on the same account, over a
// service binding (RPC). The binding is the authority: no token, and no HTTP
// rate limit; idempotency keys, delays and the engine's checks all apply.
// Names and inputs are typed from the app's task list, so a wrong input for
// send_email is a compile error in the caller. Errors arrive as Errors whose
// message starts with the engine's kind ("invalid_input: ..."): RPC keeps an
// error's message, not its class.
import { WorkerEntrypoint } from "cloudflare:workers";
import type * as z from "zod";
import type { ContextOf } from "./context";
import {
	EngineError,
	type TaskClient,
	type TaskRef,
	UnknownTaskError,
	type WorkflowBody,
	type WorkflowSpec,
	type WorkflowStep,
} from "./engine";
import { type TaskBody, toTaskBody } from "./http/schemas";
import { tasks } from "./tasks";

type AppTask = (typeof tasks)[number];
/** The name of every task a caller may enqueue. */
export type TaskName = AppTask["name"];
/** What task `N` takes as input. */
export type TaskInput<N extends TaskName> = z.input<Extract<AppTask, { name: N }>["input"]>;
/** One item of enqueueMany: a name and that task's input. */
export type TaskCall = { [N in TaskName]: { name: N; input: TaskInput<N> } }[TaskName];
/**
 * enqueue's arguments: one tuple per task, not a generic method, since a
 * service binding's stub type keeps a union of tuples but not a type parameter.
 */
export type EnqueueArgs = {
	[N in TaskName]: [name: N, input: TaskInput<N>, options?: RpcEnqueueOptions];
}[TaskName];

export interface RpcEnqueueOptions {
	/** The same key with the same task and input yields the same task (replayed: true). */
	idempotencyKey?: string;
	/** Run no sooner than this many seconds from now. */
	delaySeconds?: number;
	/** POST the task's body here, signed, once it is final: https, to a host in WEBHOOK_ALLOWED_HOSTS. */
	callbackUrl?: string;
}

/**
 * One step of a workflow: a task and its input, or, for a step that receives
 * what came before (a chain step after the first, a chord's callback), its
 * input without that field and the field's name in resultAs.
 */
export type WorkflowCall = {
	[N in TaskName]:
		| { name: N; input: TaskInput<N>; resultAs?: undefined }
		| { name: N; input: Partial<TaskInput<N>>; resultAs: keyof TaskInput<N> & string };
}[TaskName];

/** A chord's callback: its input without the field that receives the members' outcomes ("results" unless resultAs names another). */
export type ChordCallback = {
	[N in TaskName]: { name: N; input: Partial<TaskInput<N>>; resultAs?: keyof TaskInput<N> & string };
}[TaskName];

export type RpcWorkflowOptions = Pick<RpcEnqueueOptions, "idempotencyKey" | "delaySeconds">;

const byName = new Map<string, AppTask>(tasks.map((task) => [task.name, task]));

/**
 * A task as GET /tasks/:id answers it. Its result is JSON, typed loosely: RPC's
 * stub types refuse `unknown`, and a recursive JSON type is too deep for them.
 */
export type RpcTask = Omit<TaskBody, "result"> & { result: string | number | boolean | object | null };

const rpcTask = (body: TaskBody) => body as RpcTask;

/** A workflow as GET /workflows/:id answers it, its results typed loosely as RpcTask's. */
export type RpcWorkflow = Omit<WorkflowBody, "steps" | "result"> & {
	steps: (Omit<WorkflowBody["steps"][number], "result"> & { result: RpcTask["result"] })[];
	result: RpcTask["result"];
};

const stepOf = (call: WorkflowCall | ChordCallback): WorkflowStep => ({
	task: taskOf(call.name),
	input: call.input,
	resultAs: call.resultAs,
});

/** The engine's error, as RPC can carry it: its kind leads the message. */
async function rpc<T>(work: () => Promise<T>): Promise<T> {
	try {
		return await work();
	} catch (err) {
		if (err instanceof EngineError) throw new Error(`${err.kind}: ${err.message}`);
		throw err;
	}
}

// The name was checked against the task list at compile time; at run time it
// is looked up again (a JavaScript caller is not checked), and the engine
// validates the input with the task's schema.
function taskOf(name: string): TaskRef {
	const task = byName.get(name);
	if (!task) throw new UnknownTaskError(name, [...byName.keys()]);
	return task;
}

/** The entrypoint class, bound to the engine's contexts (src/index.ts exports it as TasksService). */
export function tasksService(contextOf: ContextOf) {
	return class TasksService extends WorkerEntrypoint<Env> {
		private get client(): TaskClient {
			return contextOf(this.env, { rpc: true }).tasks;
		}

		enqueue(...[name, input, options = {}]: EnqueueArgs) {
			return rpc(async () => {
				const { id, replayed } = await this.client.enqueue(taskOf(name), input, options);
				return { taskId: id, replayed };
			});
		}

		enqueueMany(items: TaskCall[], options: RpcEnqueueOptions = {}) {
			return rpc(async () => {
				const calls = items.map(({ name, input }) => ({ task: taskOf(name), input }));
				const { ids, replayed } = await this.client.enqueueEach(calls, options);
				return { taskIds: ids, replayed };
			});
		}

		/** The task as GET /tasks/:id answers it; null if unknown. */
		get(id: string): Promise<RpcTask | null> {
			return rpc(async () => {
				const row = await this.client.get(id);
				return row ? rpcTask(toTaskBody(row)) : null;
			});
		}

		/** The task once it is final, or as it is after timeoutSeconds (at most MAX_WAIT_SECONDS); null if unknown. */
		wait(id: string, options: { timeoutSeconds: number }): Promise<RpcTask | null> {
			return rpc(async () => {
				const row = await this.client.wait(id, options);
				return row ? rpcTask(toTaskBody(row)) : null;
			});
		}

		revoke(id: string): Promise<RpcTask> {
			return rpc(async () => rpcTask(toTaskBody(await this.client.revoke(id))));
		}

		/** Steps one after another; a step that fails ends it, the rest REVOKED. */
		chain(steps: WorkflowCall[], options: RpcWorkflowOptions = {}) {
			return this.workflowOf({ chain: steps.map(stepOf) }, options);
		}

		/** Members at once. */
		group(members: WorkflowCall[], options: RpcWorkflowOptions = {}) {
			return this.workflowOf({ group: members.map(stepOf) }, options);
		}

		/** Members at once, then `callback` once with every member's outcome (failures included). */
		chord(members: WorkflowCall[], callback: ChordCallback, options: RpcWorkflowOptions = {}) {
			return this.workflowOf({ group: members.map(stepOf), callback: stepOf(callback) }, options);
		}

		/** As GET /workflows/:id answers it. */
		workflow(id: string): Promise<RpcWorkflow> {
			return rpc(async () => (await this.client.workflow(id)) as RpcWorkflow);
		}

		/** Revokes every step that has not started. */
		revokeWorkflow(id: string): Promise<RpcWorkflow> {
			return rpc(async () => (await this.client.revokeWorkflow(id)) as RpcWorkflow);
		}

		private workflowOf(spec: WorkflowSpec, options: RpcWorkflowOptions) {
			return rpc(async () => {
				const { workflowId, taskIds, replayed } = await this.client.enqueueWorkflow(spec, options);
				return { workflowId, taskIds, replayed };
			});
		}

		retry(id: string) {
			return rpc(async () => {
				const { id: taskId, replayed } = await this.client.retry(id);
				return { taskId, replayed };
			});
		}
	};
}
