// Eager mode: the seed's send_email.apply(). Runs a task in-process against a
// context, recording its states in D1 exactly as the consumer would, and
// returns the finished row. Like Celery's task_always_eager, a retry runs again
// at once instead of waiting for its delay. For tests and scripts.
import type * as z from "zod";
import type { AppContext } from "../context";
import type { TaskRow } from "../db/schema";
import { parseInput, type TaskDefinition } from "./define";
import { executeBatch } from "./execute";
import { newTaskId } from "./ids";
import { getTask, insertPending } from "./store";

export async function apply<S extends z.ZodType>(ctx: AppContext, task: TaskDefinition<S>, input: z.input<S>): Promise<TaskRow> {
	const payload = parseInput(task, input);
	const id = newTaskId();
	const now = new Date();
	await insertPending(ctx.db, { id, name: task.name, payload }, now);
	const delivery = { body: { id, name: task.name, input: payload }, enqueuedAt: now };
	for (let run = 0; run <= task.retry.maxRetries; run++) {
		const [decision] = await executeBatch(ctx, [delivery]);
		if (decision?.outcome !== "retry") break;
	}
	const row = await getTask(ctx.db, id);
	if (!row) throw new Error(`task ${id} vanished`);
	return row;
}
