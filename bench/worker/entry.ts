// Bench-only Worker entry: the real Worker, with its D1 binding wrapped by a
// counter around each queue() invocation. GET /__bench/batches returns what
// each consumed batch asked of D1.
import worker from "../../src/index";
import { countingD1, type D1Counts } from "./d1-counter";

interface BatchCounts extends D1Counts {
	queue: string;
	messages: number;
}

const batches: BatchCounts[] = [];

export default {
	async fetch(request, env, ctx) {
		if (new URL(request.url).pathname === "/__bench/batches") return Response.json(batches);
		return worker.fetch(request, env, ctx);
	},
	async queue(batch, env) {
		const counts: BatchCounts = { queue: batch.queue, messages: batch.messages.length, roundTrips: 0, statements: 0 };
		batches.push(counts);
		await worker.queue(batch, { ...env, DB: countingD1(env.DB, counts) });
	},
} satisfies ExportedHandler<Env, unknown>;
