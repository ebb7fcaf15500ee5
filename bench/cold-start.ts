// Cold start: how long workerd takes from start to the first answer of the
// production bundle, against the same for a Worker that only answers, so the
// difference is what loading our script costs (parsing and running its top
// level; workerd runs it once, at start). Both are hosted by startHost, with
// the same bindings and no migrations. `node bench/cold-start.ts [bundle.js]`
// measures a given bundle instead of building the tree's; `npm run bench`
// includes it. Loopback only; each run is a fresh workerd.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { bundle, startHost } from "./host.ts";

const RUNS = 7;

/** Milliseconds from starting the host to the first answer of GET /health. */
async function startToFirstAnswer(script: string): Promise<number> {
	const started = performance.now();
	const host = await startHost(script, { script, migrate: false });
	try {
		const res = await fetch(new URL("/health", host.url));
		await res.arrayBuffer();
		if (!res.ok) throw new Error(`GET /health: ${res.status}`);
		return performance.now() - started;
	} finally {
		await host.dispose();
	}
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

export async function coldStart(script = bundle("src/index.ts", "production")) {
	// The same bindings, so the same local services start; its Durable Object class is an empty one.
	const dir = mkdtempSync(path.join(tmpdir(), "edge-tasks-bare-"));
	const bare = path.join(dir, "bare.js");
	writeFileSync(
		bare,
		[
			'import { DurableObject } from "cloudflare:workers";',
			"export class FlowControl extends DurableObject {}",
			'export default { fetch: () => Response.json({ status: "ok" }) };',
		].join("\n"),
	);
	const ours: number[] = [];
	const baseline: number[] = [];
	// Alternated, so drift on a shared machine falls on both alike.
	for (let i = 0; i < RUNS; i++) {
		ours.push(await startToFirstAnswer(script));
		baseline.push(await startToFirstAnswer(bare));
	}
	return {
		runs: RUNS,
		medianMs: Number(median(ours).toFixed(1)),
		bareMedianMs: Number(median(baseline).toFixed(1)),
		scriptMs: Number((median(ours) - median(baseline)).toFixed(1)),
	};
}

if (import.meta.main) {
	const given = process.argv[2];
	console.log(JSON.stringify(await coldStart(given ? path.resolve(given) : undefined)));
}
