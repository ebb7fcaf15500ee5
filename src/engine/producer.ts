// The producer: enqueue(task, input) is Celery's .delay() (and
// .apply_async(countdown=...) with delaySeconds). It validates the input with
// the task's own schema and sends the envelope to the queue. With an
// idempotency key, a repeat of the same request returns the first task instead
// of enqueuing another.
//
// The result backend needs no row for a task that runs now: the consumer
// creates it when it claims the task, and until then get(id) answers PENDING
// from the id alone. So the common enqueue is one queue send and no D1 write
// (D1 is a single writer, and a hop away from most Workers). A row is written
// first only when something needs it before the task runs: an idempotency key
// (claimed in the same write), a delay (the task is listed and can be revoked
// while it waits), a retry of an earlier task (the link), and bulk enqueue
// (one write for up to 1,000 tasks, so they are listed at once), a
// completion webhook (its URL is kept with the task), and a workflow.
//
// A task due further ahead than the queue can delay a message, a workflow step
// that waits its turn, and an outbox task are recorded without a message
// ("unsent"); release.ts sends it when it is due.
import type { BatchItem } from "drizzle-orm/batch";
import type * as z from "zod";
import type { EngineDb } from "./db";
import { type Json, parseInput, type TaskRef } from "./define";
import type { Envelope } from "./envelope";
import { InvalidInputError, QueueUnavailableError, UnknownTaskError } from "./errors";
import { limiterName } from "./flow/admit";
import type { FlowControl } from "./flow/control";
import type { TaskIds } from "./ids";
import { MAX_DELAY_SECONDS, MAX_SCHEDULE_SECONDS } from "./limits";
import { errorMessage, type Logger } from "./log";
import { bytesOf, checkSizes, sendBatches } from "./queue";
import { dropCallbacks } from "./store/callbacks";
import { markSent, neverSent, recordWithKey, releaseKey } from "./store/keys";
import {
	ENQUEUE_FAILED,
	failNow,
	insertPending,
	insertPendingMany,
	type NewTask,
	revokeHeld,
	revokeReplaced,
} from "./store/tasks";
import { checkCallbackUrl } from "./webhooks/hosts";

export interface EnqueueOptions {
	/** A client-chosen key: the same key with the same task and input yields the same task. */
	idempotencyKey?: string | undefined;
	/**
	 * What else the request said that a replay must repeat, as it was sent: the
	 * schedule (`delay_seconds` or `eta`). The same key with another schedule is
	 * a different request (IdempotencyKeyReusedError), not a replay.
	 */
	keyCovers?: { [field: string]: Json | undefined } | undefined;
	/** Deliver no sooner than this many seconds from now (0 to MAX_DELAY_SECONDS). */
	delaySeconds?: number | undefined;
	/** The task this one repeats (retry). */
	retryOf?: string | undefined;
	/**
	 * POST the task's body here, signed, once it is SUCCESS, FAILURE or REVOKED
	 * (a completion webhook): https, to a host in WEBHOOK_ALLOWED_HOSTS.
	 */
	callbackUrl?: string | undefined;
}

export type EnqueueManyOptions = Pick<EnqueueOptions, "delaySeconds" | "idempotencyKey" | "keyCovers" | "callbackUrl">;

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

export interface Producer {
	enqueue<S extends z.ZodType>(task: TaskRef<S>, input: z.input<S>, options?: EnqueueOptions): Promise<Enqueued>;
	/**
	 * One task per input, all recorded in one D1 transaction; ids in input order.
	 * With an idempotency key, a repeat of the same request answers as the first
	 * did: the same ids, or the same QueueUnavailableError if the queue failed part-way.
	 */
	enqueueMany<S extends z.ZodType>(
		task: TaskRef<S>,
		inputs: readonly z.input<S>[],
		options?: EnqueueManyOptions,
	): Promise<EnqueuedMany>;
	/**
	 * The queue's own backlog: messages not yet acked, and when the oldest was
	 * sent. It counts tasks enqueued without a row, which D1 cannot see.
	 */
	backlog(): Promise<Backlog>;
	/**
	 * enqueueMany with a task per item (names may differ): POST /tasks/bulk.
	 * All-or-error validation, ids in item order, one D1 transaction.
	 */
	enqueueEach(items: readonly { task: TaskRef; input: unknown }[], options?: EnqueueManyOptions): Promise<EnqueuedMany>;
	/**
	 * The transactional outbox: the statements that record the task (without its
	 * message), for the app's own db.batch([...]) beside its writes, and send(),
	 * to call once that batch has committed. If the batch fails, no task exists;
	 * if send() fails or never runs, the release sweep sends the message.
	 */
	prepare<S extends z.ZodType>(task: TaskRef<S>, input: z.input<S>, options?: PrepareOptions): Promise<Omit<Prepared, "send">>;
	/** Records every row (and `also`) in one D1 transaction and sends those not held: the core of every enqueue. */
	record(
		rows: NewTask[],
		options: EnqueueManyOptions,
		fingerprint: Fingerprint,
		also?: BatchItem<"sqlite">[],
	): Promise<EnqueuedMany>;
	/** Sends messages for tasks already recorded (recovery, webhooks, release), in sendBatch-sized parts. */
	send(messages: readonly OutgoingMessage[], event: string): Promise<void>;
	/** Mints a task id (also used for workflow ids). */
	mint(): Promise<string>;
	/** The input checked by the task's schema, and the fields a schedule and webhook set on a row. */
	rowOf(task: TaskRef, input: unknown, options: EnqueueManyOptions, now: Date, skip?: string): Promise<NewTask>;
}

/** A recorded task's message; `bytes`, when the caller has measured it already. */
export interface OutgoingMessage {
	envelope: Envelope;
	delaySeconds?: number;
	bytes?: number;
}

/** What an idempotency key's fingerprint covers: a name, and for mixed tasks every item's name and input. */
export interface Fingerprint {
	name: string;
	described?: Json;
}

export type PrepareOptions = Pick<EnqueueOptions, "delaySeconds" | "callbackUrl">;

export interface Prepared {
	id: string;
	/** Put these in the app's db.batch([...]), after its own writes. */
	statements: BatchItem<"sqlite">[];
	/**
	 * After the batch committed: sends the task's message (once; a second call
	 * sends nothing). It does not throw: a send the queue refuses is logged and
	 * left to the release sweep, which runs every minute.
	 */
	send(): Promise<void>;
}

export interface ProducerDeps {
	db: EngineDb;
	queue: Queue<Envelope>;
	log: Logger;
	idempotencyTtlSeconds: number;
	/** Registered task names: enqueuing any other is UnknownTaskError. */
	names: ReadonlySet<string>;
	ids: TaskIds;
	/** WEBHOOK_ALLOWED_HOSTS: where a callbackUrl may point. */
	webhookHosts: readonly string[];
	/** The flow limiters: debounced tasks ask theirs which earlier task a new one replaces. */
	flow?: DurableObjectNamespace<FlowControl> | undefined;
	/** Called with tasks the producer revoked (debounce replaced them), once recorded: their webhooks. */
	revoked?: (ids: string[]) => Promise<void>;
}

function checkDelay(delaySeconds = 0): number {
	if (!(Number.isInteger(delaySeconds) && delaySeconds >= 0 && delaySeconds <= MAX_SCHEDULE_SECONDS)) {
		throw new InvalidInputError(`delaySeconds must be a whole number from 0 to ${MAX_SCHEDULE_SECONDS}`, [
			{ path: "delaySeconds", message: `must be an integer from 0 to ${MAX_SCHEDULE_SECONDS}` },
		]);
	}
	return delaySeconds;
}

/** The input as the task's schema parses it; a field the task receives later (a workflow's result_as) may be missing. */
function checkInput(task: TaskRef, input: unknown, skip?: string): Json {
	if (skip === undefined) return parseInput(task, input);
	const parsed = task.input.safeParse(input);
	const issues = parsed.error?.issues.filter((issue) => issue.path[0] !== skip) ?? [];
	if (issues.length > 0) throw new InvalidInputError(`Invalid input for task ${task.name}`, issues);
	// Kept as given: the schema parses it once the field is filled in.
	return (input ?? {}) as Json;
}

export function createProducer(deps: ProducerDeps): Producer {
	const { db, queue, log, idempotencyTtlSeconds, names, ids, webhookHosts, flow } = deps;
	const dueAt = (now: Date, delaySeconds: number) => new Date(now.getTime() + delaySeconds * 1000);
	const known = (task: TaskRef) => {
		if (!names.has(task.name)) throw new UnknownTaskError(task.name, [...names]);
	};
	const callbackOf = (url: string | undefined) => (url === undefined ? null : checkCallbackUrl(url, webhookHosts));
	// A replay must ask for the same webhook too: the key covers it with the schedule.
	const covers = (options: EnqueueManyOptions) =>
		options.callbackUrl === undefined ? options.keyCovers : { ...options.keyCovers, callback_url: options.callbackUrl };

	// Debounce applies to enqueue() alone: a task in a bulk request, a workflow
	// step or an outbox task runs as enqueued.
	async function rowOf(task: TaskRef, input: unknown, options: EnqueueManyOptions, now: Date, skip?: string): Promise<NewTask> {
		known(task);
		const delaySeconds = checkDelay(options.delaySeconds);
		return {
			id: await ids.mint(),
			name: task.name,
			payload: checkInput(task, input, skip),
			dueAt: dueAt(now, delaySeconds),
			callbackUrl: callbackOf(options.callbackUrl),
			// Further ahead than a message can wait: it waits in D1 (release.ts).
			unsent: delaySeconds > MAX_DELAY_SECONDS,
		};
	}

	/** Every row (and `also`) recorded in one D1 transaction, those not held sent in sendBatch-sized parts; ids in row order. */
	async function record(
		rows: NewTask[],
		options: EnqueueManyOptions,
		fingerprint: Fingerprint,
		also: BatchItem<"sqlite">[] = [],
	): Promise<EnqueuedMany> {
		const now = new Date();
		const sizes = checkSizes(rows.map(envelopeOf));
		const key = options.idempotencyKey;
		if (key !== undefined) {
			const request = {
				name: fingerprint.name,
				rows,
				bulk: true,
				covers: covers(options),
				described: fingerprint.described,
				also,
			};
			const earlier = await recordWithKey(db, request, key, now, idempotencyTtlSeconds);
			if (earlier) return replayMany(db, earlier.taskIds ?? [earlier.taskId]);
		} else {
			const [first, ...more] = [...also, ...insertPendingMany(db, rows, now)];
			if (first) await db.batch([first, ...more]);
		}
		const delaySeconds = options.delaySeconds ?? 0;
		const toSend = rows.filter((row) => !row.unsent);
		const toSendSizes = sizes.filter((_, i) => !rows[i]?.unsent);
		const sent: string[] = [];
		for (const part of sendBatches(toSend, toSendSizes)) {
			try {
				await queue.sendBatch(part.map((row) => ({ body: envelopeOf(row), contentType: "json", delaySeconds })));
				sent.push(...part.map((row) => row.id));
			} catch (err) {
				const unsent = toSend.slice(sent.length);
				log.error("queue sendBatch failed", {
					names: [...new Set(rows.map((row) => row.name))],
					sent: sent.length,
					unsent: unsent.length,
					error: errorMessage(err),
				});
				const error = `${ENQUEUE_FAILED}${errorMessage(err)}`;
				const failed = unsent.map(({ id, name, payload }) => ({ id, name, payload, enqueuedAt: now, error }));
				// With nothing on the queue the request did not happen: its held rows
				// (a workflow's waiting steps, a chord's callback) go first, so that the
				// failures below release nothing.
				const held = sent.length === 0 ? rows.filter((row) => row.unsent).map((row) => row.id) : [];
				const recordedFailure = await bestEffort(
					log,
					failed.map((t) => t.id),
					async () => {
						if (held.length > 0) await revokeHeld(db, held, now);
						await failNow(db, failed, now);
						// The client is told these were not enqueued: no webhook reports them.
						await dropCallbacks(
							db,
							failed.map((t) => t.id),
						);
						// With nothing on the queue the key is released, as for one task, so
						// the client can retry with it. Once some tasks are on the queue, a
						// retry under the key must not send them again: the key stays, and
						// answers this same error.
						if (key !== undefined) await (sent.length === 0 ? releaseKey(db, key) : markSent(db, key));
					},
				);
				if (!recordedFailure) throw stateUnknown(rows.map((row) => row.id));
				throw partlyEnqueued(
					rows.map((row) => row.id),
					new Set([...unsent.map((row) => row.id), ...held]),
				);
			}
		}
		if (key !== undefined) await keySent(db, log, key);
		log.info("tasks enqueued", {
			names: [...new Set(rows.map((row) => row.name))],
			count: rows.length,
			delay_seconds: delaySeconds,
		});
		return { ids: rows.map((row) => row.id), replayed: false };
	}

	async function send(messages: readonly OutgoingMessage[], event: string) {
		if (messages.length === 0) return;
		for (const part of sendBatches(
			messages,
			messages.map((m) => m.bytes ?? bytesOf(m.envelope)),
		)) {
			await queue.sendBatch(part.map((m) => ({ body: m.envelope, contentType: "json", delaySeconds: m.delaySeconds ?? 0 })));
		}
		log.info(event, { count: messages.length, task_ids: messages.map((m) => m.envelope.id) });
	}

	/**
	 * Tells the key's limiter that `id` is its latest task; the earlier one it
	 * replaces, if not yet due, is revoked naming `id`. A replaced task that has
	 * started meanwhile is left to finish.
	 */
	async function replaceEarlier(task: string, key: string, id: string, seconds: number): Promise<void> {
		if (!flow) throw new Error("debounce needs the FlowControl binding");
		const limiter = flow.get(flow.idFromName(limiterName("debounce", task)));
		const { replaced } = await limiter.debounce({ id, key, windowMs: seconds * 1000 });
		if (replaced === null) return;
		try {
			const revoked = await revokeReplaced(db, replaced, id, new Date());
			log.info("debounced task replaced", { task_id: replaced, replaced_by: id, revoked: revoked !== undefined });
			if (revoked) await deps.revoked?.([replaced]);
		} catch (err) {
			// The new task stands; the replaced one runs unless revoked later.
			log.warn("could not revoke the replaced debounced task", { task_id: replaced, error: errorMessage(err) });
		}
	}

	return {
		async enqueue(task, input, given = {}) {
			const now = new Date();
			// A debounced task waits its window out after the delay asked for.
			const { debounce } = task;
			const options = debounce ? { ...given, delaySeconds: (given.delaySeconds ?? 0) + debounce.seconds } : given;
			const row = { ...(await rowOf(task, input, options, now)), retryOf: options.retryOf ?? null };
			const { payload } = row;
			const delaySeconds = options.delaySeconds ?? 0;
			// Before anything is written: a key function that throws leaves nothing behind.
			// (payload is what the task's schema parsed: its output type.)
			const debounceKey = debounce ? (debounce.key?.(payload as z.output<typeof task.input>) ?? "") : undefined;
			checkSizes([envelopeOf(row)]);
			const key = options.idempotencyKey;
			const recorded = key !== undefined || delaySeconds > 0 || options.retryOf !== undefined || row.callbackUrl !== null;
			if (key !== undefined) {
				const request = { name: task.name, rows: [row], covers: covers(options) };
				const earlier = await recordWithKey(db, request, key, now, idempotencyTtlSeconds);
				if (earlier) return { id: earlier.taskId, replayed: true };
			} else if (recorded) {
				await insertPending(db, row, now);
			}

			let step = "queue";
			try {
				if (debounceKey !== undefined && debounce) {
					step = "debounce limiter";
					await replaceEarlier(task.name, debounceKey, row.id, debounce.seconds);
					step = "queue";
				}
				if (!row.unsent) await queue.send(envelopeOf(row), { contentType: "json", delaySeconds });
			} catch (err) {
				// The row must not stay PENDING for a message that never left, and the
				// key must not pin a task that never ran: the client retries with it.
				log.error(`${step} failed`, { task_id: row.id, name: task.name, error: errorMessage(err) });
				// Recorded as FAILURE even when no row was written yet: should the send
				// have reached the queue after all, the consumer finds the task final
				// and does not run it.
				const error = `${ENQUEUE_FAILED}${errorMessage(err)}`;
				const recordedFailure = await bestEffort(log, [row.id], async () => {
					await failNow(db, [{ id: row.id, name: row.name, payload, enqueuedAt: now, error }], now);
					await dropCallbacks(db, [row.id]);
					if (key !== undefined) await releaseKey(db, key);
				});
				if (!recordedFailure) throw stateUnknown([row.id]);
				throw new QueueUnavailableError(`The task ${step} is unavailable; nothing was enqueued. Try again later.`);
			}
			if (key !== undefined) await keySent(db, log, key);
			log.info("task enqueued", { task_id: row.id, name: task.name, delay_seconds: delaySeconds, held: row.unsent });
			return { id: row.id, replayed: false };
		},

		async enqueueMany(task, inputs, options = {}) {
			const now = new Date();
			const rows = await Promise.all(inputs.map((input) => rowOf(task, input, options, now)));
			return record(rows, options, { name: task.name });
		},

		async enqueueEach(items, options = {}) {
			const now = new Date();
			const rows = await Promise.all(items.map(({ task, input }) => rowOf(task, input, options, now)));
			// Mixed names: the fingerprint covers each item's name with its input.
			return record(rows, options, { name: "", described: rows.map((row) => ({ name: row.name, input: row.payload })) });
		},

		async prepare(task, input, options = {}) {
			const now = new Date();
			// Held until send(): a commit the Worker does not live to follow up is sent by the release sweep.
			const row: NewTask = { ...(await rowOf(task, input, options, now)), unsent: true };
			checkSizes([envelopeOf(row)]);
			return { id: row.id, statements: [insertPending(db, row, now)] };
		},

		async backlog() {
			const metrics = await queue.metrics();
			return { messages: metrics.backlogCount, oldestSentAt: metrics.oldestMessageTimestamp ?? null };
		},

		record,
		send,
		rowOf,
		mint: () => ids.mint(),
	};
}

/**
 * Marks the key sent. The messages are on the queue whatever happens here: if
 * D1 fails, replays wait until SEND_GRACE_SECONDS have passed, then answer.
 */
async function keySent(db: EngineDb, log: Logger, key: string): Promise<void> {
	try {
		await markSent(db, key);
	} catch (err) {
		log.warn("could not mark the idempotency key sent; replays wait for the grace period", { error: errorMessage(err) });
	}
}

const envelopeOf = (row: NewTask): Envelope => ({ id: row.id, name: row.name, input: row.payload });

/**
 * Records a failed enqueue. If D1 fails too, the rows already written stay
 * PENDING and stuck-task recovery sends them later; the caller is still told
 * the queue failed, and that the outcome is unknown rather than that nothing
 * was enqueued.
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

function stateUnknown(ids: string[]): QueueUnavailableError {
	const [only] = ids;
	return ids.length === 1 && only
		? new QueueUnavailableError(
				"The task queue is unavailable and the task's state could not be recorded; it may still run. Retry with the same Idempotency-Key, or read GET /tasks/{task_id}",
				{ task_id: only },
			)
		: new QueueUnavailableError(
				"The task queue is unavailable and the tasks' state could not be recorded; they may still run. Retry with the same Idempotency-Key, or read GET /tasks/{task_id} for each",
				{ task_ids: ids },
			);
}

/** The error for a bulk request the queue failed part-way through. */
function partlyEnqueued(ids: string[], unsent: ReadonlySet<string>): QueueUnavailableError {
	const entries = ids.map((task_id, index) => ({ index, task_id }));
	const enqueued = entries.filter((entry) => !unsent.has(entry.task_id));
	return new QueueUnavailableError(
		`The task queue failed after ${enqueued.length} of ${ids.length} tasks; the rest were not enqueued and are recorded as FAILURE`,
		{ enqueued, not_enqueued: entries.filter((entry) => unsent.has(entry.task_id)) },
	);
}

/**
 * A repeat of a keyed bulk request: the same ids, or the same error when the
 * queue failed part-way (those tasks are FAILURE with "enqueue failed").
 */
async function replayMany(db: EngineDb, ids: string[]): Promise<EnqueuedMany> {
	const unsent = await neverSent(db, ids);
	if (unsent.size > 0) throw partlyEnqueued(ids, unsent);
	return { ids, replayed: true };
}
