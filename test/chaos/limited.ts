// The chaos run's flow-limited stand-ins: one task under a concurrency limit,
// one under a rate limit, each keyed. The concurrency one counts its runs in
// flight per key and keeps the most it saw; the invariants hold both to their
// limits (and the rate one's admissions, by the rows' started_at).
import * as z from "zod";
import type { AppContext } from "../../src/context";
import { defineTask } from "../../src/engine/define";

export const EXCLUSIVE = { name: "chaos_exclusive", limit: 2, keys: ["k1", "k2", "k3"] } as const;
/** Generous: a window seldom fills, but the limit is real (the limiter's clock is the real one). */
export const RATED = { name: "chaos_rated", limit: 4, periodSeconds: 1, keys: ["r1", "r2"] } as const;

export interface FlowTrack {
	/** Runs of chaos_exclusive in flight now, by key. */
	running: Map<string, number>;
	/** The most in flight at once, by key. */
	most: Map<string, number>;
	/** Every limited task that ran, by id: how many times. */
	ran: Map<string, number>;
	/** Runs in flight now, by key: their inputs' ids (a violation names them). */
	inFlight: Map<string, string[]>;
	/** Each time a key went over its limit: the ids in flight then. */
	over: string[];
}

export const newFlowTrack = (): FlowTrack => ({
	running: new Map(),
	most: new Map(),
	ran: new Map(),
	inFlight: new Map(),
	over: [],
});

/** The two stand-ins, recording into `track`. */
export function limitedTasks(track: FlowTrack) {
	const exclusive = defineTask({
		name: EXCLUSIVE.name,
		input: z.object({ key: z.string(), id: z.string() }),
		concurrencyLimit: { limit: EXCLUSIVE.limit, key: (input) => input.key },
		async run(_ctx: AppContext, { key, id }) {
			track.ran.set(id, (track.ran.get(id) ?? 0) + 1);
			track.running.set(key, (track.running.get(key) ?? 0) + 1);
			track.most.set(key, Math.max(track.most.get(key) ?? 0, track.running.get(key) ?? 0));
			const flying = [...(track.inFlight.get(key) ?? []), id];
			track.inFlight.set(key, flying);
			if (flying.length > EXCLUSIVE.limit) track.over.push(`${key}: ${flying.join(", ")}`);
			try {
				// A real pause (the simulation's scheduler.wait is mocked): runs of a batch overlap.
				await new Promise((resolve) => setTimeout(resolve, 2));
			} finally {
				track.running.set(key, (track.running.get(key) ?? 0) - 1);
				const left = track.inFlight.get(key) ?? [];
				left.splice(left.indexOf(id), 1);
			}
			return null;
		},
	});
	const rated = defineTask({
		name: RATED.name,
		input: z.object({ key: z.string(), id: z.string() }),
		rateLimit: { limit: RATED.limit, periodSeconds: RATED.periodSeconds, key: (input) => input.key },
		async run(_ctx: AppContext, { id }) {
			track.ran.set(id, (track.ran.get(id) ?? 0) + 1);
			return null;
		},
	});
	return { exclusive, rated };
}
