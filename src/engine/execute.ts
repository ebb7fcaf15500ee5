// Runs a batch of delivered tasks: the body of Celery's worker loop, per batch.
// Shared by the queue consumer and eager mode, so both record states alike.
// Built-in tasks run with the engine's runtime, app tasks with the app's context.
// Whatever the batch size, D1 sees a constant number of round trips: one to
// claim every task (and read what they already did), which also does the work
// and writes the outcomes of transactional tasks (process_user_data; see
// transaction.ts), one per other task kind that works per batch, one per kind
// that did side effects (task.once) to record them as soon as that kind
// settles, one to record every other outcome.
import {
	attemptsAllowed,
	type BatchItem,
	backoffSeconds,
	concurrencyFor,
	type Json,
	PermanentError,
	RetryLater,
	type TaskDefinition,
	type TaskInfo,
	withTimeout,
} from "./define";
import { type Envelope, envelopeSchema } from "./envelope";
import { type Admission, admit, type WaitReason } from "./flow/admit";
import { type Slot, slotName, slotsOf, slotWaitSeconds } from "./flow/slots";
import { MAX_CONSUMER_WALL_SECONDS, MAX_DELAY_SECONDS } from "./limits";
import { errorMessage, type Logger } from "./log";
import type { Registered, Registry } from "./registry";
import { releaseSoon } from "./release";
import type { Runtime } from "./runtime";
import {
	abandonedAfter,
	type BatchStatement,
	type ClaimRequest,
	type Claims,
	claimMany,
	effectsStatement,
	extendLeases,
	failNow,
	failUnrunnable,
	freeSlots,
	markWaiting,
	type NewEffect,
	type Outcome,
	recordEffects,
	recordOutcomes,
	type Unrunnable,
	type Waiting,
} from "./store/tasks";
import { finishedIn, inClaim, type Transaction } from "./transaction";
import { dispatchSoon } from "./webhooks/dispatch";

/** One delivered message's body, and when it was sent. */
export interface Delivered {
	body: unknown;
	enqueuedAt: Date;
}

/** What to do with the message that carried a delivery. */
export type Decision =
	| { outcome: "success" | "failure"; ack: true; taskId: string }
	| { outcome: "retry"; ack: false; taskId: string; delaySeconds: number }
	| { outcome: "busy"; ack: false; taskId: string; delaySeconds: number }
	| { outcome: "waiting"; ack: false; taskId: string; delaySeconds: number; reason: WaitReason }
	| { outcome: "skipped" | "rejected"; ack: true; reason: string };

const MAX_LOGGED_BODY = 512;
// No lease outlives the consumer invocation that holds it.
const MAX_LEASE_SECONDS = MAX_CONSUMER_WALL_SECONDS;

// Pauses before each further try of the side-effects write.
const EFFECT_WRITE_RETRIES_MS = [100, 500, 2000];

// Losing the record of effects would repeat every one of them, so a failed
// write of it is tried again (it is idempotent) before the batch gives up.
function recordEffectsPersistently(rt: Runtime, effects: readonly NewEffect[]): Promise<void> {
	return persistently(
		() => recordEffects(rt.db, effects, new Date()),
		EFFECT_WRITE_RETRIES_MS,
		(err, wait) => rt.log.warn("recording side effects failed; trying again", { error: errorMessage(err), retry_in_ms: wait }),
	);
}

/**
 * The outcomes, and the effects the batch's one kind had, in one transaction.
 * If it fails, the effects are written on their own, tried again as above,
 * and the outcomes once more: what a batch of several kinds does.
 */
async function recordAtOnce(rt: Runtime, outcomes: readonly Outcome[], effects: readonly NewEffect[], now: Date) {
	if (effects.length === 0) return recordOutcomes(rt.db, outcomes, now);
	try {
		return await recordOutcomes(rt.db, outcomes, now, [effectsStatement(rt.db, effects, now)]);
	} catch (err) {
		rt.log.warn("recording outcomes with their side effects failed; recording the effects first", { error: errorMessage(err) });
		await recordEffectsPersistently(rt, effects);
		return recordOutcomes(rt.db, outcomes, now);
	}
}

/** Runs `write`, trying again after each pause in `pausesMs` while it throws. */
async function persistently(
	write: () => Promise<void>,
	pausesMs: readonly number[],
	onRetry: (err: unknown, waitMs: number) => void,
): Promise<void> {
	for (const wait of pausesMs) {
		try {
			return await write();
		} catch (err) {
			onRetry(err, wait);
			await scheduler.wait(wait);
		}
	}
	return write();
}

const clampDelay = (seconds: number) => Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(seconds)));

/** The raw body as a short string for logs: poison can be arbitrarily large. */
export function truncatedBody(body: unknown): string {
	let text: string;
	try {
		text = typeof body === "string" ? body : (JSON.stringify(body) ?? String(body));
	} catch {
		text = String(body);
	}
	return text.length > MAX_LOGGED_BODY ? `${text.slice(0, MAX_LOGGED_BODY)}...(${text.length} chars)` : text;
}

/** What a batch runs with: the engine's runtime, the app's context for app tasks, and the registry. */
export interface Scope<Ctx> {
	rt: Runtime;
	ctx: Ctx;
	registry: Registry<Ctx>;
}

interface Runnable<Ctx> {
	index: number;
	envelope: Envelope;
	enqueuedAt: Date;
	entry: Registered<Ctx>;
	task: TaskDefinition<never>;
	input: unknown;
}

/** Runs a kind's items with the context it takes: the engine's runtime for a built-in, the app's for the rest. */
function runKind<Ctx>(scope: Scope<Ctx>, entry: Registered<Ctx>, items: BatchItem<unknown>[]) {
	return entry.builtin ? entry.task.runBatch(scope.rt, items) : entry.task.runBatch(scope.ctx, items);
}

/**
 * Decides every delivery of a batch; returns one decision per delivery, in
 * order. `limits: false` (eager mode) runs without asking the flow limiters.
 */
export async function executeBatch<Ctx>(scope: Scope<Ctx>, deliveries: readonly Delivered[], { limits = true } = {}) {
	const { rt } = scope;
	const decisions: Decision[] = new Array(deliveries.length);
	let runnable: Runnable<Ctx>[] = [];
	const poison: Unrunnable[] = [];
	const seen = new Set<string>();

	deliveries.forEach(({ body, enqueuedAt }, index) => {
		const envelope = envelopeSchema.safeParse(body);
		if (!envelope.success) {
			decisions[index] = rejected(rt.log, "message is not a task envelope", body);
			return;
		}
		const { id, name, input } = envelope.data;
		if (seen.has(id)) {
			// Two copies of one message in a batch: the first decides for both.
			decisions[index] = { outcome: "skipped", ack: true, reason: "duplicate delivery in this batch" };
			return;
		}
		seen.add(id);
		const entry = scope.registry.get(name);
		const task = entry?.task;
		const parsed = task?.input.safeParse(input);
		if (!entry || !task || !parsed?.success) {
			const fields = parsed?.error?.issues.map((i) => i.path.join(".") || "(input)").join(", ");
			const reason = task ? `invalid input for ${name}: ${fields}` : `unknown task "${name}"`;
			decisions[index] = rejected(rt.log.child({ task_id: id, name }), reason, body);
			poison.push({ id, name, payload: (input ?? null) as Json, enqueuedAt, error: reason });
			return;
		}
		runnable.push({ index, envelope: envelope.data, enqueuedAt, entry, task, input: parsed.data });
	});

	// Runs of rate-limited tasks ask their limiters first; those held back
	// wait, their state saying why in the claim's own round trip.
	const waiting: Waiting[] = [];
	let admission: Admission | undefined;
	const rated = limits && rt.flow ? runnable.filter((r) => r.task.rateLimit) : [];
	if (rt.flow && rated.length > 0) {
		admission = await admit(
			rt.flow,
			rated.map((r) => ({ id: r.envelope.id, task: r.task, input: r.input })),
			scope.ctx,
			rt.log,
		);
		const held = admission;
		const at = Date.now();
		runnable = runnable.filter((r) => {
			const { id, name } = r.envelope;
			const broken = held.unkeyable.get(id);
			if (broken) {
				poison.push(unkeyable(rt.log, r, broken, decisions));
				return false;
			}
			const wait = held.waiting.get(id);
			if (!wait) return true;
			decisions[r.index] = waitFor(rt.log, r, wait.reason, wait.retryInSeconds);
			waiting.push({
				id,
				name,
				payload: r.input as Json,
				enqueuedAt: r.enqueuedAt,
				reason: wait.reason,
				until: new Date(at + wait.retryInSeconds * 1000),
			});
			return false;
		});
	}
	// Runs of concurrency-limited tasks ask the claim for a slot (flow/slots.ts).
	const { slots, unkeyable: noSlot } = limits
		? slotsOf(runnable.map((r) => ({ id: r.envelope.id, task: r.task, input: r.input })))
		: { slots: new Map<string, Slot>(), unkeyable: new Map<string, string>() };
	runnable = runnable.filter((r) => {
		const broken = noSlot.get(r.envelope.id);
		if (broken) poison.push(unkeyable(rt.log, r, broken, decisions));
		return !broken;
	});

	const now = new Date();
	const also: BatchStatement[] = poison.length > 0 ? [failUnrunnable(rt.db, poison, now)] : [];
	if (waiting.length > 0) also.push(markWaiting(rt.db, waiting, now));
	const unrun = new Set(admission?.admittedAt.keys());
	try {
		if (runnable.length === 0) {
			if (also.length > 0) await rt.db.$client.batch(also);
			return decisions;
		}
		const requests = runnable.map((r) => ({
			id: r.envelope.id,
			name: r.envelope.name,
			payload: r.input as Json,
			enqueuedAt: r.enqueuedAt,
			leaseSeconds: leaseSeconds(r.task, runnable),
			admittedAt: admission?.admittedAt.get(r.envelope.id),
			maxAttempts: attemptsAllowed(r.task.retry),
			slot: slots.get(r.envelope.id),
		}));
		const { claims, done } = await claimWithWork(scope, runnable, requests, now, also);
		const noSlotFree = heldForSlots(rt.log, runnable, slots, claims, now, decisions);
		const spent = abandoned(rt.log, runnable, claims, now, decisions);
		const claimed = claimedOf(rt.log, runnable, claims, now, decisions);
		for (const r of claimed) unrun.delete(r.envelope.id);
		// All settle before a failure propagates: a slot may go back only once its run is over.
		const settled = await Promise.allSettled([
			claimed.length > 0 && run(scope, claimed, claims, done, decisions),
			noSlotFree.length > 0 && sayWhyWaiting(rt, noSlotFree, now),
			spent.length > 0 && failAbandoned(rt, spent),
		]);
		const failed = settled.find((s) => s.status === "rejected");
		if (failed) {
			// Every run is over (run() waits for all of its own), but outcomes may
			// be unrecorded: the slots of those still STARTED go back now, as the
			// DO's did, instead of when their leases end.
			const holding = claimed.filter((r) => slots.has(r.envelope.id));
			if (holding.length > 0)
				await giveSlotsBack(
					rt,
					holding.map((r) => ({ id: r.envelope.id, attempt: attemptOf(r, claims) })),
				);
			throw failed.reason;
		}
		return decisions;
	} finally {
		// The rate places of runs that never started go back.
		await admission?.giveBack(unrun);
	}
}

/**
 * Claims the runs, with the work and outcomes of the transactional ones in the
 * same batch (transaction.ts) when the task's database is the engine's own
 * binding: `done` holds the runs that batch finished, with their results. If
 * it fails, the claim is made again without the work, which then runs as any
 * task's: a failing statement is recorded as the run's error and retried.
 */
async function claimWithWork<Ctx>(
	{ rt, ctx }: Scope<Ctx>,
	runnable: readonly Runnable<Ctx>[],
	requests: readonly ClaimRequest[],
	now: Date,
	also: readonly BatchStatement[],
): Promise<{ claims: Claims; done: Map<string, Json> }> {
	const kinds = new Map<Transaction<Ctx, unknown, Json>, string[]>();
	for (const r of runnable) {
		const transaction = r.entry.builtin ? undefined : r.entry.task.transaction;
		if (transaction && transaction.db(ctx).$client === rt.db.$client)
			kinds.set(transaction, [...(kinds.get(transaction) ?? []), r.envelope.id]);
	}
	if (kinds.size === 0) return { claims: await claimMany(rt.db, requests, now, { also }), done: new Map() };
	const token = crypto.randomUUID();
	try {
		const work = [...kinds].map(([transaction, ids]) => inClaim(rt.db.$client, transaction, ctx, ids, token, now));
		const claims = await claimMany(rt.db, requests, now, { also, token, last: work.flat() });
		let at = 0;
		const done = new Map<string, Json>();
		for (const statements of work) {
			at += statements.length;
			for (const [id, result] of finishedIn(claims.lastResults[at - 1])) done.set(id, result);
		}
		return { claims, done };
	} catch (err) {
		rt.log.warn("a transactional task's work failed with its claim; claiming without it, to run it on its own", {
			error: errorMessage(err),
		});
		return { claims: await claimMany(rt.db, requests, now, { also }), done: new Map() };
	}
}

/**
 * The runs the claim held back for want of a free slot of their key: their
 * decisions say to wait, and the list says why, for the tasks' rows. A run
 * not claimed for another reason (running elsewhere, final) is not one.
 */
function heldForSlots<Ctx>(
	log: Logger,
	runnable: readonly Runnable<Ctx>[],
	slots: ReadonlyMap<string, Slot>,
	claims: Claims,
	now: Date,
	decisions: Decision[],
): Waiting[] {
	const waiters = new Map<string, number>();
	return runnable.flatMap((r) => {
		const { id, name } = r.envelope;
		const slot = slots.get(id);
		const status = claims.current.get(id)?.status;
		if (!slot || claims.claimed.has(id) || !(status === undefined || status === "PENDING" || status === "RETRY")) return [];
		const key = slotName(name, slot.key);
		const waiter = (waiters.get(key) ?? 0) + 1;
		waiters.set(key, waiter);
		const delaySeconds = slotWaitSeconds(waiter, slot.limit, leaseSeconds(r.task, runnable));
		decisions[r.index] = waitFor(log, r, "concurrency_limited", delaySeconds);
		const until = new Date(now.getTime() + delaySeconds * 1000);
		return [{ id, name, payload: r.input as Json, enqueuedAt: r.enqueuedAt, reason: "concurrency_limited" as const, until }];
	});
}

/**
 * The runs left STARTED by a consumer that died on their task's last attempt,
 * their leases over: recovery would fail them as abandoned, and so does this
 * delivery, rather than run them once more than their retry limit allows.
 */
function abandoned<Ctx>(log: Logger, runnable: readonly Runnable<Ctx>[], claims: Claims, now: Date, decisions: Decision[]) {
	return runnable.flatMap((r): Unrunnable[] => {
		const { id, name } = r.envelope;
		const current = claims.current.get(id);
		if (decisions[r.index] || claims.claimed.has(id) || current?.status !== "STARTED") return [];
		if (!current.leaseExpiresAt || current.leaseExpiresAt > now || current.attempts < attemptsAllowed(r.task.retry)) return [];
		const error = abandonedAfter(current.attempts);
		log.warn("task transition", { task_id: id, name, from: "STARTED", to: "FAILURE", attempt: current.attempts, error });
		decisions[r.index] = { outcome: "failure", ack: true, taskId: id };
		return [{ id, name, payload: r.input as Json, enqueuedAt: r.enqueuedAt, error }];
	});
}

/** Fails abandoned tasks; their completion webhooks go out as any failure's. */
async function failAbandoned(rt: Runtime, list: readonly Unrunnable[]): Promise<void> {
	const failed = await failNow(rt.db, list);
	if (failed.size > 0) await dispatchSoon(rt, [...failed]);
}

/** Frees the slots of runs that are over, unrecorded; if this fails too, they end with their leases. Never throws. */
async function giveSlotsBack(rt: Runtime, runs: readonly { id: string; attempt: number }[]): Promise<void> {
	try {
		await freeSlots(rt.db, runs);
	} catch (err) {
		rt.log.warn("could not give concurrency slots back; they end with their leases", {
			count: runs.length,
			error: errorMessage(err),
		});
	}
}

/** Records why runs held back wait. They wait whether or not this is written: it never throws. */
async function sayWhyWaiting(rt: Runtime, list: readonly Waiting[], now: Date): Promise<void> {
	try {
		await rt.db.$client.batch([markWaiting(rt.db, list, now)]);
	} catch (err) {
		rt.log.warn("could not record why tasks wait", { count: list.length, error: errorMessage(err) });
	}
}

function waitFor<Ctx>(log: Logger, r: Runnable<Ctx>, reason: WaitReason, delaySeconds: number): Decision {
	const { id, name } = r.envelope;
	log.info("task waits for a flow limit", { task_id: id, name, reason, delay_seconds: delaySeconds });
	return { outcome: "waiting", ack: false, taskId: id, delaySeconds, reason };
}

/** A run whose flow-control key cannot be computed: it can never run. */
function unkeyable<Ctx>(log: Logger, r: Runnable<Ctx>, reason: string, decisions: Decision[]): Unrunnable {
	const { id, name } = r.envelope;
	decisions[r.index] = rejected(log.child({ task_id: id, name }), reason, r.envelope);
	return { id, name, payload: r.input as Json, enqueuedAt: r.enqueuedAt, error: reason };
}

/** The runs this delivery claimed; the others' decisions say why not. */
function claimedOf<Ctx>(log: Logger, runnable: readonly Runnable<Ctx>[], claims: Claims, now: Date, decisions: Decision[]) {
	return runnable.filter((r) => {
		if (decisions[r.index]) return false;
		const attempt = claims.claimed.get(r.envelope.id);
		if (attempt !== undefined) {
			// At debug: the line of how the attempt ended says it started, with its duration.
			log.debug("task transition", {
				task_id: r.envelope.id,
				name: r.envelope.name,
				from: "PENDING|RETRY",
				to: "STARTED",
				attempt,
			});
			return true;
		}
		decisions[r.index] = notClaimed(log, r.envelope, claims, now);
		return false;
	});
}

// A kind written per item runs `concurrency` at a time, each for up to
// timeoutSeconds, so the last may start several timeouts after the claim: its
// lease covers that. A kind written per batch runs once for all of them.
function leaseSeconds<Ctx>(task: TaskDefinition<never>, batch: readonly Runnable<Ctx>[]): number {
	const ofKind = batch.filter((r) => r.task === task).length;
	const waves = task.perBatch ? 1 : Math.ceil(ofKind / concurrencyFor(task, ofKind));
	return Math.min(MAX_LEASE_SECONDS, task.timeoutSeconds * waves);
}

/** Runs the claimed runs; those in `done` finished in the claim's own transaction, with these results. */
async function run<Ctx>(
	scope: Scope<Ctx>,
	claimed: readonly Runnable<Ctx>[],
	claims: Claims,
	done: ReadonlyMap<string, Json>,
	decisions: Decision[],
) {
	const { rt } = scope;
	const startedAt = Date.now();
	const kinds = new Map<Registered<Ctx>, Runnable<Ctx>[]>();
	for (const r of claimed) if (!done.has(r.envelope.id)) kinds.set(r.entry, [...(kinds.get(r.entry) ?? []), r]);

	const settled = new Map<Runnable<Ctx>, PromiseSettledResult<Json>>();
	// A batch of one kind writes its effects in the outcomes' transaction: one
	// D1 round trip, and no window between the two (see recordAtOnce).
	const withOutcomes: NewEffect[] = [];
	// Every kind settles before a failure of one propagates: the batch gives its
	// unused rate places back on the way out, and must not while runs still run.
	const kindsDone = await Promise.allSettled(
		[...kinds].map(async ([entry, list]) => {
			const effects = new Effects();
			const items: BatchItem<unknown>[] = list.map((r) => ({ input: r.input, task: infoFor(rt.log, r, claims, effects) }));
			// Each run has its own timeout; this bounds a runBatch as a whole by its lease.
			const results = await withTimeout(runKind(scope, entry, items), leaseSeconds(entry.task, list)).catch(
				(reason: unknown): PromiseSettledResult<Json>[] => list.map(() => ({ status: "rejected", reason })),
			);
			list.forEach((r, i) => {
				settled.set(r, results[i] ?? { status: "rejected", reason: new Error("runBatch returned too few results") });
			});
			// A run that timed out may have left an effect under way (an email the
			// provider has not yet accepted). Its task is held one more timeout
			// while the effect is awaited, so that if it completes it is recorded
			// and the retry does not repeat it.
			if (effects.underWay.size > 0) {
				const grace = entry.task.timeoutSeconds;
				const runs = list
					.filter((r) => effects.underWay.has(r.envelope.id))
					.map((r) => ({ id: r.envelope.id, attempt: attemptOf(r, claims) }));
				const until = new Date(Date.now() + grace * 1000);
				// A concurrency slot is the lease: it is held as long.
				await extendLeases(rt.db, runs, until, new Date());
				const late = await effects.settle(grace * 1000);
				if (late > 0)
					rt.log.warn("effects still under way after their task's timeout twice over; a retry may repeat them", { count: late });
			}
			// With other kinds in the batch, each records its effects as soon as it
			// settles, before any outcome: a slow kind does not leave another's
			// sent emails unrecorded, and if recording the outcomes fails, a
			// redelivery still finds the effects.
			if (effects.done.length > 0) {
				if (kinds.size === 1) withOutcomes.push(...effects.done);
				else await recordEffectsPersistently(rt, effects.done);
			}
		}),
	);
	const failed = kindsDone.find((k) => k.status === "rejected");
	if (failed) throw failed.reason;

	const now = new Date();
	const outcomes = claimed.map((r): Outcome => {
		const { id } = r.envelope;
		const result = done.get(id);
		if (result !== undefined) return { id, attempt: attemptOf(r, claims), to: "SUCCESS", result };
		return outcomeOf(r, attemptOf(r, claims), settled.get(r));
	});
	const recorded = await recordAtOnce(
		rt,
		outcomes.filter((o) => !done.has(o.id)),
		withOutcomes,
		now,
	);
	for (const id of done.keys()) recorded.add(id);
	// Webhooks of the tasks that just finished, and the workflow steps their
	// outcomes released (by trigger, in the same write); batches with neither
	// pay nothing.
	const finished = outcomes.filter((o) => o.to !== "RETRY" && recorded.has(o.id));
	const owing = finished.filter((o) => claims.current.get(o.id)?.hasCallback).map((o) => o.id);
	if (owing.length > 0) await dispatchSoon(rt, owing);
	const flows = new Set(finished.flatMap((o) => claims.current.get(o.id)?.workflowId ?? []));
	if (flows.size > 0) await releaseSoon(rt, { workflows: [...flows] });

	const durationMs = Date.now() - startedAt;
	outcomes.forEach((outcome, i) => {
		const r = claimed[i] as Runnable<Ctx>;
		const log = rt.log.child({ task_id: outcome.id, name: r.envelope.name });
		if (!recorded.has(outcome.id)) {
			// The run outlived its lease and another delivery claimed the task;
			// that delivery's outcome stands.
			log.warn("lease lost before the outcome was recorded; the newer run decides", { attempt: outcome.attempt });
			decisions[r.index] = { outcome: "skipped", ack: true, reason: "lease lost" };
			return;
		}
		const fields = { from: "STARTED", to: outcome.to, attempt: outcome.attempt, duration_ms: durationMs };
		if (outcome.to === "SUCCESS") {
			log.info("task transition", fields);
			decisions[r.index] = { outcome: "success", ack: true, taskId: outcome.id };
		} else if (outcome.to === "FAILURE") {
			log.warn("task transition", { ...fields, error: outcome.error });
			decisions[r.index] = { outcome: "failure", ack: true, taskId: outcome.id };
		} else {
			log.warn("task transition", { ...fields, error: outcome.error, delay_seconds: outcome.delaySeconds });
			decisions[r.index] = { outcome: "retry", ack: false, taskId: outcome.id, delaySeconds: outcome.delaySeconds };
		}
	});
}

const attemptOf = <Ctx>(r: Runnable<Ctx>, claims: Claims) => claims.claimed.get(r.envelope.id) ?? 0;

/** A kind's side effects: those done, and those still under way. */
class Effects {
	readonly done: NewEffect[] = [];
	/** Tasks with an effect under way: how many each. */
	readonly underWay = new Map<string, number>();
	private readonly running = new Set<Promise<unknown>>();

	track<T>(taskId: string, effect: Promise<T>): Promise<T> {
		const settled = effect.then(
			() => undefined,
			() => undefined,
		);
		this.running.add(settled);
		this.underWay.set(taskId, (this.underWay.get(taskId) ?? 0) + 1);
		void settled.then(() => {
			this.running.delete(settled);
			const left = (this.underWay.get(taskId) ?? 1) - 1;
			if (left > 0) this.underWay.set(taskId, left);
			else this.underWay.delete(taskId);
		});
		return effect;
	}

	/** Waits up to `ms` for the effects still under way; returns how many are still running then. */
	async settle(ms: number): Promise<number> {
		if (this.running.size === 0) return 0;
		let timer: ReturnType<typeof setTimeout> | undefined;
		const timeout = new Promise<void>((resolve) => {
			timer = setTimeout(resolve, Math.max(0, ms));
		});
		await Promise.race([Promise.all(this.running), timeout]);
		if (timer !== undefined) clearTimeout(timer);
		// Let the completions that raced the timeout record themselves.
		await Promise.resolve();
		return this.running.size;
	}
}

function infoFor<Ctx>(log: Logger, r: Runnable<Ctx>, claims: Claims, effects: Effects): TaskInfo {
	const { id, name } = r.envelope;
	const attempt = attemptOf(r, claims);
	const done = claims.effects.get(id) ?? new Map<string, Json>();
	return {
		id,
		name,
		attempt,
		async once<T extends Json>(key: string, effect: () => Promise<T>): Promise<T> {
			if (done.has(key)) {
				log.info("effect already done; not repeating it", { task_id: id, name, key, attempt });
				return done.get(key) as T;
			}
			const value = await effects.track(id, effect());
			done.set(key, value);
			effects.done.push({ taskId: id, key, value });
			return value;
		},
	};
}

function outcomeOf<Ctx>(r: Runnable<Ctx>, attempt: number, settled: PromiseSettledResult<Json> | undefined): Outcome {
	const id = r.envelope.id;
	if (settled?.status === "fulfilled") return { id, attempt, to: "SUCCESS", result: settled.value };
	const err: unknown = settled?.reason;
	const error = errorMessage(err);
	const retriesLeft = r.task.retry.maxRetries - (attempt - 1);
	if (err instanceof PermanentError || retriesLeft <= 0) return { id, attempt, to: "FAILURE", error };
	const delaySeconds = clampDelay(err instanceof RetryLater ? err.delaySeconds : backoffSeconds(r.task.retry, attempt));
	return { id, attempt, to: "RETRY", error, delaySeconds };
}

/** Why this delivery may not run the task, and what to do with its message. */
function notClaimed(log: Logger, { id, name }: Envelope, claims: Claims, now: Date): Decision {
	const current = claims.current.get(id);
	const taskLog = log.child({ task_id: id, name });
	if (current?.status === "STARTED" && current.leaseExpiresAt) {
		// Another delivery is running it: come back when its lease runs out.
		const delaySeconds = clampDelay(Math.max(1, (current.leaseExpiresAt.getTime() - now.getTime()) / 1000));
		taskLog.info("task is running elsewhere; delivery deferred", { attempt: current.attempts, delay_seconds: delaySeconds });
		return { outcome: "busy", ack: false, taskId: id, delaySeconds };
	}
	const reason = current ? `task is ${current.status}` : "task is not recorded";
	taskLog.info("delivery skipped", { reason });
	return { outcome: "skipped", ack: true, reason };
}

function rejected(log: Logger, reason: string, body: unknown): Decision {
	log.warn("poison message", { reason, body: truncatedBody(body) });
	return { outcome: "rejected", ack: true, reason };
}
