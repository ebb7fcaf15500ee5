// The daily summary: counts per state and per task name over the last day,
// as one log line (and the task's result), from the engine's counts.
import * as z from "zod";
import { defineTask } from "./define";

export const dailySummary = defineTask({
	name: "daily_summary",
	input: z.object({ hours: z.number().int().min(1).max(168).default(24) }).strict(),
	retry: { maxRetries: 2 },
	// Asked for several times within a minute (the cron, a button, a script): one run, of the last.
	debounce: { seconds: 60, key: (input) => String(input.hours) },
	async run(ctx, { hours }) {
		const since = new Date(Date.now() - hours * 3600_000);
		const rows = await ctx.tasks.countsSince(since);
		const byState: Record<string, number> = {};
		const byName: Record<string, Record<string, number>> = {};
		for (const { name, status, n } of rows) {
			byState[status] = (byState[status] ?? 0) + n;
			const perName = byName[name] ?? {};
			perName[status] = n;
			byName[name] = perName;
		}
		const summary = {
			since: since.toISOString(),
			total: rows.reduce((sum, r) => sum + r.n, 0),
			by_state: byState,
			by_name: byName,
		};
		ctx.log.info("daily summary", summary);
		return summary;
	},
});
