// A task as the engine shows it to the outside: the body GET /tasks/:id and
// the RPC entrypoint answer, and the body a completion webhook posts. One
// shape for every way out, so a receiver parses a webhook as it parses a read.
import type { Json } from "./define";
import type { WaitReason } from "./flow/admit";
import type { TaskRow } from "./schema";
import type { TaskState } from "./states";
import { UNKNOWN_NAME } from "./store/tasks";

export interface TaskBody {
	task_id: string;
	/** null while the task is on the queue, not yet seen by a consumer. */
	name: string | null;
	status: TaskState;
	result: Json;
	error: string | null;
	attempts: number;
	created_at: string;
	started_at: string | null;
	finished_at: string | null;
	due_at: string | null;
	next_attempt_at: string | null;
	retry_of: string | null;
	/** Where the completion webhook goes, if the task has one. */
	callback_url: string | null;
	/** The deliver_webhook task posting it, once the task is final. */
	callback_task_id: string | null;
	/** The workflow (GET /workflows/{id}) this task is a step of. */
	workflow_id: string | null;
	/** While PENDING or RETRY: the flow limit its last delivery waited for (due_at or next_attempt_at: until when). */
	waiting: WaitReason | null;
	history: {
		attempt: number;
		at: string;
		status: "RETRY" | "FAILURE";
		error: string;
		delay_seconds: number | null;
	}[];
}

export function taskBody(row: TaskRow): TaskBody {
	return {
		task_id: row.id,
		name: row.name === UNKNOWN_NAME ? null : row.name,
		status: row.status,
		result: (row.result ?? null) as Json,
		error: row.error,
		attempts: row.attempts,
		created_at: row.createdAt.toISOString(),
		started_at: row.startedAt?.toISOString() ?? null,
		finished_at: row.finishedAt?.toISOString() ?? null,
		due_at: row.dueAt?.toISOString() ?? null,
		next_attempt_at: row.nextAttemptAt?.toISOString() ?? null,
		retry_of: row.retryOf,
		callback_url: row.callbackUrl,
		callback_task_id: row.callbackTaskId,
		workflow_id: row.workflowId,
		waiting: row.status === "PENDING" || row.status === "RETRY" ? ((row.waiting as WaitReason | null) ?? null) : null,
		history: row.history.map((entry) => ({
			attempt: entry.attempt,
			at: new Date(entry.at).toISOString(),
			status: entry.status,
			error: entry.error,
			delay_seconds: entry.delaySeconds,
		})),
	};
}
