// The producer: tasks.enqueue(task, input) is Celery's .delay(). It validates
// the input with the task's own schema, records the task as PENDING and sends
// the envelope to the queue.
import type { z } from "zod";
import type { Database } from "../db/client";
import { AppError } from "../errors";
import { errorMessage, type Logger } from "../log";
import { parseInput, type TaskDefinition } from "./define";
import type { Envelope } from "./envelope";
import { insertPending, markFailure } from "./store";

export interface TaskProducer {
	/** Returns the new task's id once it is recorded and on the queue. */
	enqueue<S extends z.ZodType>(task: TaskDefinition<S>, input: z.input<S>): Promise<string>;
}

export function createTaskProducer(db: Database, queue: Queue<Envelope>, log: Logger): TaskProducer {
	return {
		async enqueue(task, input) {
			const payload = parseInput(task, input);
			const id = crypto.randomUUID();
			await insertPending(db, { id, name: task.name, payload });
			try {
				await queue.send({ id, name: task.name, input: payload }, { contentType: "json" });
			} catch (err) {
				// The row must not stay PENDING for a message that never left.
				log.error("queue send failed", { task_id: id, name: task.name, error: errorMessage(err) });
				await markFailure(db, id, `enqueue failed: ${errorMessage(err)}`);
				throw new AppError(503, "queue_unavailable", "The task queue is unavailable; try again later");
			}
			log.info("task enqueued", { task_id: id, name: task.name });
			return id;
		},
	};
}
