// The consumer's side of flow control: before a batch claims its tasks, the
// runs of rate- and concurrency-limited tasks ask the FlowControl object of
// their task's limit for a place. One call per limit per batch, whatever the
// number of runs and keys in it, all calls at once; once the batch is over,
// one more per concurrency limit gives its slots back. A run admitted by one
// limit and held back by another gives the first place back unused.
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
	leaseSeconds: number;
}

// A limiter that cannot be reached holds its runs back this long: never run over a limit.
const UNAVAILABLE_RETRY_SECONDS = 10;

interface Group {
	kind: "rate" | "concurrency";
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
	/** Holds the slots of these runs until `until`: their leases were extended. */
	extend(ids: readonly string[], until: Date): Promise<void>;
	/** Gives back every slot taken, and the rate places of runs in `unrun`. Never throws. */
	giveBack(unrun: ReadonlySet<string>): Promise<void>;
}

export const isLimited = (task: TaskDefinition<never>) => Boolean(task.rateLimit || task.concurrencyLimit);

/** Asks the limiters for `candidates` (the limited runs of a batch). */
export async function admit(
	ns: DurableObjectNamespace<FlowControl>,
	candidates: readonly Candidate[],
	ctx: unknown,
	log: Logger,
): Promise<Admission> {
	const holder = crypto.randomUUID();
	const groups = new Map<string, Group>();
	const groupsOf = new Map<string, Group[]>();
	const stub = (name: string) => ns.get(ns.idFromName(name));
	const unkeyable = new Map<string, string>();
	for (const c of candidates) {
		const mine: Group[] = [];
		const { rateLimit, concurrencyLimit } = c.task;
		let keys: { rate?: string | undefined; concurrency?: string | undefined };
		try {
			keys = { rate: rateLimit?.key?.(c.input), concurrency: concurrencyLimit?.key?.(c.input) };
		} catch (err) {
			unkeyable.set(c.id, `flow-control key failed: ${errorMessage(err)}`);
			continue;
		}
		const leaseMs = c.leaseSeconds * 1000;
		if (rateLimit) {
			const name = limiterName("rate", c.task.name);
			// The context is the app's, or the engine's runtime for a built-in: the caller knows which.
			const limit = typeof rateLimit.limit === "function" ? rateLimit.limit(ctx as never) : rateLimit.limit;
			const group = groups.get(name) ?? {
				kind: "rate",
				name,
				request: { kind: "rate", limit, periodMs: rateLimit.periodSeconds * 1000, runs: [] },
			};
			group.request.runs.push({ id: c.id, key: keys.rate ?? "", leaseMs });
			groups.set(name, group);
			mine.push(group);
		}
		if (concurrencyLimit) {
			const name = limiterName("concurrency", c.task.name);
			const group = groups.get(name) ?? {
				kind: "concurrency",
				name,
				request: { kind: "concurrency", limit: concurrencyLimit.limit, holder, runs: [] },
			};
			group.request.runs.push({ id: c.id, key: keys.concurrency ?? "", leaseMs });
			groups.set(name, group);
			mine.push(group);
		}
		groupsOf.set(c.id, mine);
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
		for (const group of groupsOf.get(c.id) ?? []) {
			const verdict = verdictOf(group, c.id);
			if (verdict.admitted) {
				if (group.kind === "rate") admittedAt.set(c.id, verdict.at);
				continue;
			}
			const earlier = waiting.get(c.id);
			// Held back twice: the longer wait decides.
			if (!earlier || earlier.retryInSeconds < verdict.retryInSeconds) waiting.set(c.id, verdict);
		}
	}

	const taken = (group: Group) => (group.reply?.admitted ?? []).map((a) => a.id);
	return {
		unkeyable,
		waiting,
		admittedAt,
		async extend(ids, until) {
			const extended = new Set(ids);
			await Promise.all(
				[...groups.values()]
					.filter((g) => g.kind === "concurrency")
					.map(async (group) => {
						const mine = taken(group).filter((id) => extended.has(id));
						if (mine.length === 0) return;
						try {
							await stub(group.name).extend({ holder, ids: mine, untilMs: until.getTime() });
						} catch (err) {
							log.warn("could not extend concurrency slots; they end with the first lease", { error: errorMessage(err) });
						}
					}),
			);
		},
		async giveBack(unrun) {
			await Promise.all(
				[...groups.values()].map(async (group) => {
					// A slot is given back whatever became of its run; a rate place only if its run never started.
					const ids = taken(group).filter((id) => group.kind === "concurrency" || unrun.has(id) || waiting.has(id));
					if (ids.length === 0) return;
					try {
						await stub(group.name).give(
							group.kind === "concurrency"
								? { kind: "concurrency", holder, ids }
								: { kind: "rate", places: placesOf(group, ids) },
						);
					} catch (err) {
						// Nothing runs over a limit for this: the slots end with their leases.
						log.warn("could not give flow places back; they expire", { limiter: group.name, error: errorMessage(err) });
					}
				}),
			);
		},
	};
}

/** The Durable Object's name for one limit of one task: it keeps that limit for every key. */
export const limiterName = (kind: "rate" | "concurrency" | "debounce", task: string) => `${kind}\n${task}`;

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
		reason: group.kind === "rate" ? "rate_limited" : "concurrency_limited",
		retryInSeconds: Math.min(MAX_DELAY_SECONDS, Math.max(1, Math.ceil((wait?.retryInMs ?? 1000) / 1000))),
	};
}
