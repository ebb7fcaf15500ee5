// defineTask: the analog of Celery's @app.task. A task is a name, a zod schema
// for its input (the producer validates with it, the consumer parses with it)
// and a run function that receives the batch's context.
import type { z } from "zod";
import type { AppContext } from "../context";
import { AppError } from "../errors";

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** What a running task knows about itself. */
export interface TaskInfo {
	id: string;
	name: string;
	/** 1 on the first run, 2 on the first retry, ... */
	attempt: number;
}

export interface TaskDefinition<S extends z.ZodType = z.ZodType, R extends Json = Json> {
	readonly name: string;
	readonly input: S;
	run(ctx: AppContext, input: z.output<S>, task: TaskInfo): Promise<R>;
}

export function defineTask<S extends z.ZodType, R extends Json>(def: TaskDefinition<S, R>): TaskDefinition<S, R> {
	return Object.freeze({ ...def });
}

/** Validates input against the task's schema: the check .delay() and .apply() share. */
export function parseInput<S extends z.ZodType>(task: TaskDefinition<S>, input: unknown): Json {
	const parsed = task.input.safeParse(input);
	if (!parsed.success) {
		throw new AppError(400, "validation_error", `Invalid input for task ${task.name}`, parsed.error.issues);
	}
	return parsed.data as Json;
}
