// npm run chaos [-- --tasks N] [-- --seed S[,S...]]: the full seeded chaos run
// (test/chaos/simulate.ts) inside workerd, one seed after another; prints a
// table and writes bench/results/chaos.json. Exits 1 on any violation.
import { spawn, spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";

const root = path.join(import.meta.dirname, "..", "..");
const { values } = parseArgs({
	options: { tasks: { type: "string", default: "10000" }, seed: { type: "string", multiple: true, default: ["1,2,3,4,5"] } },
});
const tasks = Number(values.tasks);
const seeds = values.seed.flatMap((s) => s.split(",")).map(Number);
if (!(Number.isInteger(tasks) && tasks > 0) || seeds.some((s) => !Number.isInteger(s))) {
	console.error("usage: npm run chaos -- [--tasks N] [--seed S[,S...]]");
	process.exit(2);
}

interface Report {
	seed: number;
	tasks: number;
	final: Record<string, number>;
	lost: number;
	duplicates: Record<string, number>;
	violations: string[];
	faults: Record<string, number>;
	ms: number;
}

console.log(`chaos: ${tasks} tasks, seeds ${seeds.join(", ")}`);
const reports: Report[] = [];
const faultLogs: string[] = [];
const exit = await new Promise<number>((resolve) => {
	const child = spawn(
		"npx",
		["vitest", "run", "--config", "test/vitest.config.ts", "test/chaos/chaos.test.ts", "--silent=false", "--reporter=dot"],
		{
			cwd: root,
			env: { ...process.env, CHAOS_TASKS: String(tasks), CHAOS_SEEDS: seeds.join(",") },
			stdio: ["ignore", "pipe", "pipe"],
		},
	);
	let buffered = "";
	child.stdout.on("data", (chunk: Buffer) => {
		buffered += chunk.toString();
		const lines = buffered.split("\n");
		buffered = lines.pop() ?? "";
		for (const line of lines) {
			const report = /CHAOS-REPORT (\{.*\})/.exec(line)?.[1];
			if (report) {
				const parsed = JSON.parse(report) as Report;
				reports.push(parsed);
				console.log(
					`seed ${parsed.seed}: ${parsed.tasks} tasks, ${parsed.violations.length} violations, ${(parsed.ms / 1000).toFixed(1)} s`,
				);
			}
			const faults = /CHAOS-FAULTS (.*)/.exec(line)?.[1];
			if (faults) faultLogs.push(faults);
		}
	});
	// The Worker's own log lines: thousands, by design. Kept for a failed run.
	let stderr = "";
	child.stderr.on("data", (chunk: Buffer) => {
		stderr = (stderr + chunk.toString()).slice(-20_000);
	});
	child.on("close", (code) => {
		if (code !== 0) console.error(stderr);
		resolve(code ?? 1);
	});
});

const sum = (pick: (r: Report) => Record<string, number>) => {
	const total: Record<string, number> = {};
	for (const r of reports) for (const [k, v] of Object.entries(pick(r))) total[k] = (total[k] ?? 0) + v;
	return total;
};
const table = (title: string, rows: Record<string, number | string>) => {
	console.log(`\n${title}`);
	for (const [k, v] of Object.entries(rows)) console.log(`  ${k.padEnd(40)} ${v}`);
};
table("tasks", {
	seeds: reports.map((r) => r.seed).join(", "),
	accepted: reports.reduce((n, r) => n + r.tasks, 0),
	...sum((r) => r.final),
	lost: reports.reduce((n, r) => n + r.lost, 0),
});
table(
	"faults injected, by kind",
	sum((r) => r.faults),
);
table(
	"extra emails, by cause (each inside a window docs/delivery-guarantees.md names)",
	sum((r) => r.duplicates),
);
const violations = reports.flatMap((r) => r.violations.map((v) => `seed ${r.seed}: ${v}`));
table("invariant violations", { count: violations.length });
for (const v of violations) console.log(`  ${v}`);
for (const log of faultLogs) console.log(`\nfault decisions, ${log}`);
table("time", { seconds: (reports.reduce((n, r) => n + r.ms, 0) / 1000).toFixed(1) });

const out = path.join(root, "bench", "results", "chaos.json");
const summary = {
	date: new Date().toISOString(),
	tasksPerSeed: tasks,
	seeds,
	totals: {
		final: sum((r) => r.final),
		faults: sum((r) => r.faults),
		duplicates: sum((r) => r.duplicates),
		violations: violations.length,
	},
	reports,
};
await writeFile(out, `${JSON.stringify(summary, null, "\t")}\n`);
// As the repository formats JSON, so a fresh run's file passes the lint.
spawnSync("npx", ["biome", "format", "--config-path", ".ci", "--write", out], { cwd: root, stdio: "ignore" });
console.log(`\nWritten to ${path.relative(root, out)}`);
process.exit(exit === 0 && violations.length === 0 && reports.length === seeds.length ? 0 : 1);
