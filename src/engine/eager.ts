// Eager mode: the seed's send_email.apply(). Runs a task in-process against a
// scope, recording its states in D1 exactly as the consumer would, and returns
// the finished row. Like Celery's task_always_eager, a retry runs again at
// once instead of waiting for its delay, and flow limits (rate, concurrency)
// are not asked, as Celery's eager mode ignores rate_limit. For tests and scripts.
import { parseInput, type TaskRef } from "./define";
import { UnknownTaskError } from "./errors";
import { executeBatch, type Scope } from "./execute";
import type { TaskRow } from "./schema";
import { getTask, insertPending } from "./store/tasks";

export async function applyTask<Ctx>(scope: Scope<Ctx>, task: TaskRef, input: unknown): Promise<TaskRow> {
	const entry = scope.registry.get(task.name);
	if (!entry) throw new UnknownTaskError(task.name, [...scope.registry.keys()]);
	const payload = parseInput(task, input);
	const id = await scope.rt.ids.mint();
	const now = new Date();
	await insertPending(scope.rt.db, { id, name: task.name, payload }, now);
	const delivery = { body: { id, name: task.name, input: payload }, enqueuedAt: now };
	for (let run = 0; run <= entry.task.retry.maxRetries; run++) {
		const [decision] = await executeBatch(scope, [delivery], { limits: false });
		if (decision?.outcome !== "retry") break;
	}
	const row = await getTask(scope.rt.db, id);
	if (!row) throw new Error(`task ${id} vanished`);
	return row;
}
