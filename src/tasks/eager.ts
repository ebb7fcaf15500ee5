// Eager mode: the seed's send_email.apply(). Runs a task in-process against a
// context, recording its states in D1 exactly as the consumer would, and
// returns the finished row. For tests and scripts; it bypasses the queue.
import type { z } from "zod";
import type { AppContext } from "../context";
import type { TaskRow } from "../db/schema";
import { parseInput, type TaskDefinition } from "./define";
import { execute } from "./execute";
import { getTask, insertPending } from "./store";

export async function apply<S extends z.ZodType>(ctx: AppContext, task: TaskDefinition<S>, input: z.input<S>): Promise<TaskRow> {
	const payload = parseInput(task, input);
	const id = crypto.randomUUID();
	await insertPending(ctx.db, { id, name: task.name, payload });
	await execute(ctx, { id, name: task.name, input: payload });
	const row = await getTask(ctx.db, id);
	if (!row) throw new Error(`task ${id} vanished`);
	return row;
}
