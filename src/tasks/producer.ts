// The producer: tasks.enqueue(task, input) is Celery's .delay(). It validates
// the input with the task's own schema, records the task as PENDING and sends
// the envelope to the queue. With an idempotency key, a repeat of the same
// request returns the first task instead of enqueuing another.
import { and, eq, lte } from "drizzle-orm";
import type { z } from "zod";
import type { Config } from "../config";
import type { Database } from "../db/client";
import { idempotencyKeys } from "../db/schema";
import { AppError } from "../errors";
import { errorMessage, type Logger } from "../log";
import { type Json, parseInput, type TaskDefinition } from "./define";
import type { Envelope } from "./envelope";
import { insertPending, markFailure } from "./store";

export interface EnqueueOptions {
	/** A client-chosen key: the same key with the same task and input yields the same task. */
	idempotencyKey?: string;
}

export interface Enqueued {
	id: string;
	/** True when the idempotency key matched an earlier request; nothing was enqueued. */
	replayed: boolean;
}

export interface TaskProducer {
	enqueue<S extends z.ZodType>(task: TaskDefinition<S>, input: z.input<S>, options?: EnqueueOptions): Promise<Enqueued>;
}

export function createTaskProducer(db: Database, queue: Queue<Envelope>, config: Config, log: Logger): TaskProducer {
	return {
		async enqueue(task, input, options = {}) {
			const payload = parseInput(task, input);
			const id = crypto.randomUUID();
			const now = new Date();
			const key = options.idempotencyKey;
			if (key === undefined) {
				await insertPending(db, { id, name: task.name, payload }, now);
			} else {
				const earlier = await recordWithKey(db, config, { id, name: task.name, payload }, key, now);
				if (earlier) return { id: earlier, replayed: true };
			}

			try {
				await queue.send({ id, name: task.name, input: payload }, { contentType: "json" });
			} catch (err) {
				// The row must not stay PENDING for a message that never left, and the
				// key must not pin a task that never ran: the client retries with it.
				log.error("queue send failed", { task_id: id, name: task.name, error: errorMessage(err) });
				await markFailure(db, id, `enqueue failed: ${errorMessage(err)}`);
				if (key !== undefined) await db.delete(idempotencyKeys).where(eq(idempotencyKeys.key, key));
				throw new AppError(503, "queue_unavailable", "The task queue is unavailable; nothing was enqueued. Try again later.");
			}
			log.info("task enqueued", { task_id: id, name: task.name });
			return { id, replayed: false };
		},
	};
}

/**
 * Records the task and claims the key in one D1 transaction. If the key is
 * taken (and not expired) nothing is written and the earlier task's id is
 * returned, or 422 if the earlier request was for different work.
 */
async function recordWithKey(
	db: Database,
	config: Config,
	task: { id: string; name: string; payload: Json },
	key: string,
	now: Date,
): Promise<string | undefined> {
	const fingerprint = await fingerprintOf(task.name, task.payload);
	try {
		await db.batch([
			db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.key, key), lte(idempotencyKeys.expiresAt, now))),
			insertPending(db, task, now),
			db.insert(idempotencyKeys).values({
				key,
				fingerprint,
				taskId: task.id,
				createdAt: now,
				expiresAt: new Date(now.getTime() + config.idempotencyTtlSeconds * 1000),
			}),
		]);
		return undefined;
	} catch (err) {
		if (!isUniqueViolation(err)) throw err;
	}
	const earlier = await db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, key)).get();
	if (!earlier) throw new AppError(409, "conflict", "A request with this Idempotency-Key is being processed; retry it");
	if (earlier.fingerprint !== fingerprint) {
		throw new AppError(422, "idempotency_key_reused", "This Idempotency-Key was used for a different request");
	}
	return earlier.taskId;
}

async function fingerprintOf(name: string, payload: Json): Promise<string> {
	const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${name}\n${JSON.stringify(payload)}`));
	return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function isUniqueViolation(err: unknown): boolean {
	for (let e: unknown = err; e instanceof Error; e = e.cause) {
		if (e.message.includes("UNIQUE constraint failed")) return true;
	}
	return false;
}
