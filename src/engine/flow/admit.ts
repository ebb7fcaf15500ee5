// The consumer's side of rate limits: before a batch claims its tasks, the
// runs of rate-limited tasks ask the FlowControl object of their task's limit
// for a place. One call per limit per batch, whatever the number of runs and
// keys in it, all calls at once. A run admitted here and then held back (by
// its concurrency limit, which the claim keeps: flow/slots.ts) gives its
// place back unused once the batch is over.
import type { TaskDefinition } from "../define";
import { MAX_DELAY_SECONDS } from "../limits";
import { errorMessage, type Logger } from "../log";
import type { FlowControl, TakeReply, TakeRequest } from "./control";

/** Why a run is waiting: the column `waiting` and the task's body say it. */
export type WaitReason = "rate_limited" | "concurrency_limited" | "limiter_unavailable";

/** A run of the batch that asks to start. */
export interface Candidate {
	id: string;
	task: TaskDefinition<never>;
	input: unknown;
}

// A limiter that cannot be reached holds its runs back this long: never run over a limit.
const UNAVAILABLE_RETRY_SECONDS = 10;

interface Group {
	/** The object's name: kind and task. */
	name: string;
	request: TakeRequest;
	reply?: TakeReply;
}

export interface Admission {
	/** Runs whose key could not be computed (the task's key function threw): they can never run. */
	unkeyable: Map<string, string>;
	/** Runs that may not start now, with why and when to ask again. */
	waiting: Map<string, { reason: WaitReason; retryInSeconds: number }>;
	/** When the rate limiter admitted a run: the start its window counts. */
	admittedAt: Map<string, number>;
	/** Gives back the rate places of runs in `unrun`, which never started. Never throws. */
	giveBack(unrun: ReadonlySet<string>): Promise<void>;
}

/** Asks the rate limiters for `candidates` (the rate-limited runs of a batch). */
export async function admit(
	ns: DurableObjectNamespace<FlowControl>,
	candidates: readonly Candidate[],
	ctx: unknown,
	log: Logger,
): Promise<Admission> {
	const groups = new Map<string, Group>();
	const groupOf = new Map<string, Group>();
	const stub = (name: string) => ns.get(ns.idFromName(name));
	const unkeyable = new Map<string, string>();
	for (const c of candidates) {
		const { rateLimit } = c.task;
		if (!rateLimit) continue;
		const key = keyOf(rateLimit, c.input);
		if (typeof key !== "string") {
			unkeyable.set(c.id, key.failed);
			continue;
		}
		const name = limiterName("rate", c.task.name);
		// The context is the app's, or the engine's runtime for a built-in: the caller knows which.
		const limit = typeof rateLimit.limit === "function" ? rateLimit.limit(ctx as never) : rateLimit.limit;
		const group = groups.get(name) ?? {
			name,
			request: { kind: "rate", limit, periodMs: rateLimit.periodSeconds * 1000, runs: [] },
		};
		group.request.runs.push({ id: c.id, key });
		groups.set(name, group);
		groupOf.set(c.id, group);
	}

	await Promise.all(
		[...groups.values()].map(async (group) => {
			try {
				group.reply = await stub(group.name).take(group.request);
			} catch (err) {
				log.error("flow limiter unreachable; its runs wait", { limiter: group.name, error: errorMessage(err) });
			}
		}),
	);

	const waiting: Admission["waiting"] = new Map();
	const admittedAt = new Map<string, number>();
	for (const c of candidates) {
		const group = groupOf.get(c.id);
		if (!group) continue;
		const verdict = verdictOf(group, c.id);
		if (verdict.admitted) admittedAt.set(c.id, verdict.at);
		else waiting.set(c.id, verdict);
	}

	return {
		unkeyable,
		waiting,
		admittedAt,
		async giveBack(unrun) {
			await Promise.all(
				[...groups.values()].map(async (group) => {
					const ids = (group.reply?.admitted ?? []).map((a) => a.id).filter((id) => unrun.has(id));
					if (ids.length === 0) return;
					try {
						await stub(group.name).give({ kind: "rate", places: placesOf(group, ids) });
					} catch (err) {
						// Nothing runs over a limit for this: the places leave the window with time.
						log.warn("could not give flow places back; they expire", { limiter: group.name, error: errorMessage(err) });
					}
				}),
			);
		},
	};
}

/** The key a limit counts a run under ("" without a key function), or why it cannot be computed. */
export function keyOf(limit: { key?(input: unknown): string }, input: unknown): string | { failed: string } {
	try {
		return limit.key?.(input) ?? "";
	} catch (err) {
		return { failed: `flow-control key failed: ${errorMessage(err)}` };
	}
}

/** The Durable Object's name for one limit of one task: it keeps that limit for every key. */
export const limiterName = (kind: "rate" | "debounce", task: string) => `${kind}\n${task}`;

type Verdict = { admitted: true; at: number } | { admitted: false; reason: WaitReason; retryInSeconds: number };

/** Where in their keys' windows a rate limiter admitted `ids`: what giving them back removes. */
function placesOf(group: Group, ids: readonly string[]): { key: string; at: number }[] {
	const wanted = new Set(ids);
	const keyOf = new Map(group.request.runs.map((run) => [run.id, run.key]));
	return (group.reply?.admitted ?? []).flatMap((a) => (wanted.has(a.id) ? [{ key: keyOf.get(a.id) ?? "", at: a.at }] : []));
}

function verdictOf(group: Group, id: string): Verdict {
	const { reply } = group;
	if (!reply) return { admitted: false, reason: "limiter_unavailable", retryInSeconds: UNAVAILABLE_RETRY_SECONDS };
	const admitted = reply.admitted.find((a) => a.id === id);
	if (admitted) return { admitted: true, at: admitted.at };
	const wait = reply.waiting.find((w) => w.id === id);
	return {
		admitted: false,
		reason: "rate_limited",
		retryInSeconds: Math.min(MAX_DELAY_SECONDS, Math.max(1, Math.ceil((wait?.retryInMs ?? 1000) / 1000))),
	};
}
