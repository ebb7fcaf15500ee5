// What one counted invocation (a request, a consumed batch, a cron) asked of
// the services that bill per use: D1, Queues and FlowControl. Bench-only: the
// bench entry records one of these per invocation when BENCH_COUNT_D1 is on.
import { countingD1, type D1Counts } from "./d1-counter";
import { countingFlow, type FlowCounts } from "./flow-counter";
import { countingQueue, emptyQueueCounts, type QueueCounts } from "./queue-counter";

export interface Counts extends Required<D1Counts>, FlowCounts, QueueCounts {}

export const emptyCounts = (): Counts => ({
	roundTrips: 0,
	statements: 0,
	rowsRead: 0,
	rowsWritten: 0,
	flowCalls: 0,
	flowByMethod: {},
	...emptyQueueCounts(),
});

/** `env` with its D1, task queue and FlowControl bindings counted into `counts`. */
export const countedEnv = <E extends Env>(env: E, counts: Counts): E => ({
	...env,
	DB: countingD1(env.DB, counts),
	TASKS: countingQueue(env.TASKS, counts),
	FLOW: countingFlow(env.FLOW, counts),
});
