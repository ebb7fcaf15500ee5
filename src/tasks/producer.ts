// The producer: tasks.enqueue(task, input) is Celery's .delay() (and
// .apply_async(countdown=...) with delaySeconds). It validates the input with
// the task's own schema and sends the envelope to the queue. With an
// idempotency key, a repeat of the same request returns the first task instead
// of enqueuing another.
//
// The result backend needs no row for a task that runs now: the consumer
// creates it when it claims the task, and until then GET /tasks/:id answers
// PENDING from the id alone. So the common enqueue is one queue send and no D1
// write (D1 is a single writer, and a hop away from most Workers). A row is
// written first only when something needs it before the task runs: an
// idempotency key (claimed in the same write), a delay (the task is listed and
// can be revoked while it waits), a retry of an earlier task (the link), and
// bulk enqueue (one write for up to 1,000 tasks, so they are listed at once).
import { and, eq, like, lte, sql } from "drizzle-orm";
import type * as z from "zod";
import type { Config } from "../config";
import type { Database } from "../db/client";
import { idempotencyKeys, tasks } from "../db/schema";
import { AppError } from "../errors";
import { errorMessage, type Logger } from "../log";
import { type Json, parseInput, type TaskDefinition } from "./define";
import type { Envelope } from "./envelope";
import { newTaskId } from "./ids";
import { failNow, insertPending, insertPendingMany, type NewTask } from "./store";

/** The error of a task whose message never reached the queue. */
const ENQUEUE_FAILED = "enqueue failed: ";

/** Queues delays a message by at most 12 hours. */
export const MAX_DELAY_SECONDS = 43_200;

export interface EnqueueOptions {
	/** A client-chosen key: the same key with the same task and input yields the same task. */
	idempotencyKey?: string;
	/**
	 * What else the request said that a replay must repeat, as it was sent: the
	 * schedule (`delay_seconds` or `eta`). The same key with another schedule is
	 * a different request (422), not a replay.
	 */
	keyCovers?: { [field: string]: Json | undefined };
	/** Deliver no sooner than this many seconds from now (0 to MAX_DELAY_SECONDS). */
	delaySeconds?: number;
	/** The task this one repeats (POST /tasks/:id/retry). */
	retryOf?: string;
}

export interface Backlog {
	messages: number;
	oldestSentAt: Date | null;
}

export interface Enqueued {
	id: string;
	/** True when the idempotency key matched an earlier request; nothing was enqueued. */
	replayed: boolean;
}

export interface EnqueuedMany {
	/** One task id per input, in input order. */
	ids: string[];
	/** True when the idempotency key matched an earlier request; nothing was enqueued. */
	replayed: boolean;
}

export interface TaskProducer {
	enqueue<S extends z.ZodType>(task: TaskDefinition<S>, input: z.input<S>, options?: EnqueueOptions): Promise<Enqueued>;
	/**
	 * The queue's own backlog: messages not yet acked, and when the oldest was
	 * sent. It counts tasks enqueued without a row, which D1 cannot see.
	 */
	backlog(): Promise<Backlog>;
	/** Sends messages again for tasks already recorded (stuck-task recovery), in sendBatch-sized parts. */
	resend(envelopes: Envelope[]): Promise<void>;
	/**
	 * One task per input, all recorded in one D1 transaction; ids in input order.
	 * With an idempotency key, a repeat of the same request answers as the first
	 * did: the same ids, or the same 503 if the queue failed part-way.
	 */
	enqueueMany<S extends z.ZodType>(
		task: TaskDefinition<S>,
		inputs: readonly z.input<S>[],
		options?: Pick<EnqueueOptions, "delaySeconds" | "idempotencyKey" | "keyCovers">,
	): Promise<EnqueuedMany>;
}

// Queues: at most 128 KB per message, 100 messages and 256 KB per sendBatch.
// Leave room for per-message overhead.
const MESSAGE_BYTES = 120 * 1024;
const MESSAGES_PER_BATCH = 100;
const BYTES_PER_BATCH = 200 * 1024;

const utf8 = new TextEncoder();
/** An envelope's size on the queue: its JSON in UTF-8 bytes. */
const bytesOf = (envelope: Envelope) => utf8.encode(JSON.stringify(envelope)).length;

/** 413 before anything is written, for inputs too large to be a queue message. */
function checkSizes(rows: readonly NewTask[]): number[] {
	const sizes = rows.map((row) => bytesOf(envelopeOf(row)));
	const tooLarge = sizes.flatMap((size, index) => (size > MESSAGE_BYTES ? [{ index, bytes: size }] : []));
	if (tooLarge.length > 0) {
		throw new AppError(
			413,
			"payload_too_large",
			`A task's input must fit in a queue message: at most ${MESSAGE_BYTES} bytes as JSON`,
			rows.length === 1 ? { bytes: tooLarge[0]?.bytes } : { too_large: tooLarge },
		);
	}
	return sizes;
}

export function createTaskProducer(db: Database, queue: Queue<Envelope>, config: Config, log: Logger): TaskProducer {
	const dueAt = (now: Date, delaySeconds = 0) => new Date(now.getTime() + delaySeconds * 1000);

	return {
		async enqueue(task, input, options = {}) {
			const payload = parseInput(task, input);
			const now = new Date();
			const row: NewTask = {
				id: newTaskId(),
				name: task.name,
				payload,
				dueAt: dueAt(now, options.delaySeconds),
				retryOf: options.retryOf ?? null,
			};
			checkSizes([row]);
			const key = options.idempotencyKey;
			const recorded = key !== undefined || (options.delaySeconds ?? 0) > 0 || options.retryOf !== undefined;
			if (key !== undefined) {
				const request = { name: task.name, rows: [row], covers: options.keyCovers };
				const earlier = await recordWithKey(db, config, request, key, now);
				if (earlier) return { id: earlier.taskId, replayed: true };
			} else if (recorded) {
				await insertPending(db, row, now);
			}

			try {
				await queue.send(envelopeOf(row), { contentType: "json", delaySeconds: options.delaySeconds ?? 0 });
			} catch (err) {
				// The row must not stay PENDING for a message that never left, and the
				// key must not pin a task that never ran: the client retries with it.
				log.error("queue send failed", { task_id: row.id, name: task.name, error: errorMessage(err) });
				// Recorded as FAILURE even when no row was written yet: should the send
				// have reached the queue after all, the consumer finds the task final
				// and does not run it.
				const error = `${ENQUEUE_FAILED}${errorMessage(err)}`;
				const recordedFailure = await bestEffort(log, [row.id], async () => {
					await failNow(db, [{ id: row.id, name: row.name, payload, enqueuedAt: now, error }], now);
					if (key !== undefined) await db.delete(idempotencyKeys).where(eq(idempotencyKeys.key, key));
				});
				if (!recordedFailure) throw stateUnknown([row.id]);
				throw new AppError(503, "queue_unavailable", "The task queue is unavailable; nothing was enqueued. Try again later.");
			}
			log.info("task enqueued", { task_id: row.id, name: task.name, delay_seconds: options.delaySeconds ?? 0 });
			return { id: row.id, replayed: false };
		},

		async backlog() {
			const metrics = await queue.metrics();
			return { messages: metrics.backlogCount, oldestSentAt: metrics.oldestMessageTimestamp ?? null };
		},

		async resend(envelopes) {
			if (envelopes.length === 0) return;
			for (const part of sendBatches(envelopes, envelopes.map(bytesOf))) {
				await queue.sendBatch(part.map((body) => ({ body, contentType: "json" })));
			}
			log.info("tasks redelivered", { count: envelopes.length, task_ids: envelopes.map((e) => e.id) });
		},

		async enqueueMany(task, inputs, options = {}) {
			const now = new Date();
			const rows: NewTask[] = inputs.map((input) => ({
				id: newTaskId(),
				name: task.name,
				payload: parseInput(task, input),
				dueAt: dueAt(now, options.delaySeconds),
			}));
			const sizes = checkSizes(rows);
			const key = options.idempotencyKey;
			if (key !== undefined) {
				const request = { name: task.name, rows, bulk: true, covers: options.keyCovers };
				const earlier = await recordWithKey(db, config, request, key, now);
				if (earlier) return replayMany(db, earlier.taskIds ?? [earlier.taskId]);
			} else {
				const [firstInsert, ...moreInserts] = insertPendingMany(db, rows, now);
				if (firstInsert) await db.batch([firstInsert, ...moreInserts]);
			}

			const sent: string[] = [];
			for (const part of sendBatches(rows, sizes)) {
				try {
					await queue.sendBatch(
						part.map((row) => ({ body: envelopeOf(row), contentType: "json", delaySeconds: options.delaySeconds ?? 0 })),
					);
					sent.push(...part.map((row) => row.id));
				} catch (err) {
					const unsent = rows.slice(sent.length);
					log.error("queue sendBatch failed", {
						name: task.name,
						sent: sent.length,
						unsent: unsent.length,
						error: errorMessage(err),
					});
					const error = `${ENQUEUE_FAILED}${errorMessage(err)}`;
					const failed = unsent.map(({ id, name, payload }) => ({ id, name, payload, enqueuedAt: now, error }));
					const recordedFailure = await bestEffort(
						log,
						failed.map((t) => t.id),
						async () => {
							await failNow(db, failed, now);
							// With nothing on the queue the key is released, as for one task, so
							// the client can retry with it. Once some tasks are on the queue, a
							// retry under the key must not send them again: the key stays, and
							// answers this same error.
							if (key !== undefined && sent.length === 0) {
								await db.delete(idempotencyKeys).where(eq(idempotencyKeys.key, key));
							}
						},
					);
					if (!recordedFailure) throw stateUnknown(rows.map((row) => row.id));
					throw partlyEnqueued(
						rows.map((row) => row.id),
						new Set(unsent.map((row) => row.id)),
					);
				}
			}
			log.info("tasks enqueued", { name: task.name, count: rows.length, delay_seconds: options.delaySeconds ?? 0 });
			return { ids: rows.map((row) => row.id), replayed: false };
		},
	};
}

const envelopeOf = (row: NewTask): Envelope => ({ id: row.id, name: row.name, input: row.payload });

/** Splits items (whose queue sizes are `sizes`) into sendBatch calls within Queues' count and size limits. */
function* sendBatches<T>(items: readonly T[], sizes: readonly number[]): Generator<T[]> {
	let part: T[] = [];
	let bytes = 0;
	for (const [i, item] of items.entries()) {
		const size = sizes[i] ?? 0;
		if (part.length === MESSAGES_PER_BATCH || (part.length > 0 && bytes + size > BYTES_PER_BATCH)) {
			yield part;
			part = [];
			bytes = 0;
		}
		part.push(item);
		bytes += size;
	}
	if (part.length > 0) yield part;
}

/**
 * Records a failed enqueue. If D1 fails too, the rows already written stay
 * PENDING and stuck-task recovery sends them later; the caller still answers
 * 503, saying the outcome is unknown rather than that nothing was enqueued.
 */
async function bestEffort(log: Logger, taskIds: string[], record: () => Promise<void>): Promise<boolean> {
	try {
		await record();
		return true;
	} catch (err) {
		log.error("could not record the failed enqueue; recovery will send any recorded task later", {
			task_ids: taskIds,
			error: errorMessage(err),
		});
		return false;
	}
}

function stateUnknown(ids: string[]): AppError {
	const [only] = ids;
	return ids.length === 1 && only
		? new AppError(
				503,
				"queue_unavailable",
				"The task queue is unavailable and the task's state could not be recorded; it may still run. Retry with the same Idempotency-Key, or read GET /tasks/{task_id}",
				{ task_id: only },
			)
		: new AppError(
				503,
				"queue_unavailable",
				"The task queue is unavailable and the tasks' state could not be recorded; they may still run. Retry with the same Idempotency-Key, or read GET /tasks/{task_id} for each",
				{ task_ids: ids },
			);
}

/** The 503 for a bulk request the queue failed part-way through. */
function partlyEnqueued(ids: string[], unsent: ReadonlySet<string>): AppError {
	const entries = ids.map((task_id, index) => ({ index, task_id }));
	const enqueued = entries.filter((entry) => !unsent.has(entry.task_id));
	return new AppError(
		503,
		"queue_unavailable",
		`The task queue failed after ${enqueued.length} of ${ids.length} tasks; the rest were not enqueued and are recorded as FAILURE`,
		{ enqueued, not_enqueued: entries.filter((entry) => unsent.has(entry.task_id)) },
	);
}

/**
 * A repeat of a keyed bulk request: the same ids, or the same 503 when the
 * queue failed part-way (those tasks are FAILURE with "enqueue failed").
 */
async function replayMany(db: Database, ids: string[]): Promise<EnqueuedMany> {
	const unsent = await db
		.select({ id: tasks.id })
		.from(tasks)
		.where(
			and(sql`${tasks.id} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`, like(tasks.error, `${ENQUEUE_FAILED}%`)),
		);
	if (unsent.length > 0) throw partlyEnqueued(ids, new Set(unsent.map((row) => row.id)));
	return { ids, replayed: true };
}

interface KeyedRequest {
	name: string;
	rows: NewTask[];
	/** A bulk request: its fingerprint and its ids are those of every row. */
	bulk?: boolean;
	covers?: EnqueueOptions["keyCovers"];
}

/**
 * Records the request's tasks and claims the key in one D1 transaction. If
 * the key is taken (and not expired) nothing is written and the earlier
 * request's key row is returned, or 422 if it was for different work.
 */
async function recordWithKey(db: Database, config: Config, request: KeyedRequest, key: string, now: Date) {
	const { name, rows, bulk = false, covers } = request;
	const [first] = rows;
	if (!first) throw new Error("recordWithKey needs at least one task");
	const fingerprint = bulk
		? await fingerprintOf(
				`${name}[]`,
				rows.map((row) => row.payload),
				covers,
			)
		: await fingerprintOf(name, first.payload, covers);
	try {
		await db.batch([
			db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.key, key), lte(idempotencyKeys.expiresAt, now))),
			...insertPendingMany(db, rows, now),
			db.insert(idempotencyKeys).values({
				key,
				fingerprint,
				taskId: first.id,
				taskIds: bulk ? rows.map((row) => row.id) : null,
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
	return earlier;
}

async function fingerprintOf(name: string, payload: Json, covers: EnqueueOptions["keyCovers"] = {}): Promise<string> {
	// Without a schedule the text is what it was before schedules were covered,
	// so keys recorded then still replay.
	const given = Object.values(covers).some((value) => value !== undefined);
	const text = `${name}\n${JSON.stringify(payload)}${given ? `\n${JSON.stringify(covers)}` : ""}`;
	const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
	return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function isUniqueViolation(err: unknown): boolean {
	for (let e: unknown = err; e instanceof Error; e = e.cause) {
		if (e.message.includes("UNIQUE constraint failed")) return true;
	}
	return false;
}
