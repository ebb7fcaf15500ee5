// The aggregates behind the dashboard's overview (Flower's main page): counts
// per state and per task name over the last hour and day, finished tasks per
// time bucket, and the oldest task waiting to run. Every query is answered
// from an index range (test/dashboard-stats.test.ts checks the plans), and all
// of them travel to D1 in one batch.
import { and, asc, count, desc, eq, gte, inArray, isNotNull, lte, type SQL, sql } from "drizzle-orm";
import type { EngineDb } from "../db";
import { type TaskRow, tasks } from "../schema";
import { TASK_STATES, type TaskState } from "../states";
import { listTasks } from "./list";

const HOUR_MS = 3_600_000;

/** Chart ranges: how far back, in how many buckets. */
export const RANGES = {
	"1h": { ms: HOUR_MS, buckets: 60 },
	"24h": { ms: 24 * HOUR_MS, buckets: 48 },
} as const;
export type Range = keyof typeof RANGES;

const UNFINISHED = ["PENDING", "STARTED", "RETRY"] as const satisfies TaskState[];

export interface Bucket {
	start: Date;
	enqueued: number;
	succeeded: number;
	failed: number;
}

export interface Overview {
	now: Date;
	range: Range;
	/** Tasks created in the last hour and day, by their current state; every state listed. */
	states: { state: TaskState; hour: number; day: number }[];
	/** The same per task name, with how many of them failed. */
	names: { name: string; hour: number; day: number; failedHour: number; failedDay: number }[];
	/** Unfinished tasks now, however old. */
	unfinished: Record<(typeof UNFINISHED)[number], number>;
	/** The longest-waiting PENDING task that is due: the backlog signal. */
	oldestDue: { id: string; name: string; dueAt: Date } | null;
	buckets: Bucket[];
	recentFailures: TaskRow[];
	/** The latest tasks held back by a flow limit (rate or concurrency). */
	waiting: TaskRow[];
}

/** The queries, built but not run: the overview runs them, the plan test explains them. */
export function overviewQueries(db: EngineDb, now: Date, range: Range, names: readonly string[]) {
	const dayAgo = new Date(now.getTime() - 24 * HOUR_MS);
	const inLastHour = sql<number>`sum(${tasks.createdAt} >= ${now.getTime() - HOUR_MS})`.mapWith(Number);
	const { ms, buckets } = RANGES[range];
	const bucketMs = ms / buckets;
	const from = new Date((Math.floor(now.getTime() / bucketMs) - buckets + 1) * bucketMs);
	// A literal, not a parameter, so GROUP BY repeats the selected expression exactly.
	const bucketOf = (column: typeof tasks.createdAt | typeof tasks.finishedAt): SQL<number> =>
		sql<number>`${column} / ${sql.raw(String(bucketMs))}`;
	return {
		// IN over every state turns one GROUP BY into a range per state on (status, created_at).
		byState: db
			.select({ status: tasks.status, day: count(), hour: inLastHour })
			.from(tasks)
			.where(and(inArray(tasks.status, [...TASK_STATES]), gte(tasks.createdAt, dayAgo)))
			.groupBy(tasks.status),
		byName: db
			.select({ name: tasks.name, day: count(), hour: inLastHour })
			.from(tasks)
			.where(and(inArray(tasks.name, [...names]), gte(tasks.createdAt, dayAgo)))
			.groupBy(tasks.name),
		failedByName: db
			.select({ name: tasks.name, day: count(), hour: inLastHour })
			.from(tasks)
			.where(and(eq(tasks.status, "FAILURE"), gte(tasks.createdAt, dayAgo)))
			.groupBy(tasks.name),
		unfinished: db
			.select({ status: tasks.status, n: count() })
			.from(tasks)
			.where(inArray(tasks.status, [...UNFINISHED]))
			.groupBy(tasks.status),
		// Oldest first by creation; delayed tasks not yet due are passed over.
		oldestDue: db
			.select({ id: tasks.id, name: tasks.name, dueAt: tasks.dueAt })
			.from(tasks)
			.where(and(eq(tasks.status, "PENDING"), lte(tasks.dueAt, now)))
			.orderBy(asc(tasks.createdAt))
			.limit(1),
		finished: db
			.select({ bucket: bucketOf(tasks.finishedAt), status: tasks.status, n: count() })
			.from(tasks)
			.where(gte(tasks.finishedAt, from))
			.groupBy(bucketOf(tasks.finishedAt), tasks.status),
		enqueued: db
			.select({ bucket: bucketOf(tasks.createdAt), n: count() })
			.from(tasks)
			.where(gte(tasks.createdAt, from))
			.groupBy(bucketOf(tasks.createdAt)),
		// Held back by a flow limit, latest first, from the partial waiting index,
		// which holds only them; the unary + keeps SQLite off the status index,
		// which would read every PENDING task.
		waiting: db
			.select()
			.from(tasks)
			.where(and(isNotNull(tasks.waiting), inArray(sql`+${tasks.status}`, ["PENDING", "RETRY"])))
			.orderBy(desc(tasks.updatedAt))
			.limit(8),
		bucketMs,
		from,
	};
}

export async function loadOverview(db: EngineDb, now: Date, range: Range, names: readonly string[]): Promise<Overview> {
	const q = overviewQueries(db, now, range, names);
	const [[byState, byName, failedByName, unfinished, oldestDue, finished, enqueued, waiting], failures] = await Promise.all([
		db.batch([q.byState, q.byName, q.failedByName, q.unfinished, q.oldestDue, q.finished, q.enqueued, q.waiting]),
		// The same query as GET /tasks?status=FAILURE.
		listTasks(db, { status: "FAILURE", limit: 8 }),
	]);

	const perName = new Map(byName.map((r) => [r.name, { name: r.name, hour: r.hour, day: r.day, failedHour: 0, failedDay: 0 }]));
	// Failures are counted for every name, so a poison message's unknown task
	// shows too: every task under such a name failed, so its failures are its totals.
	for (const r of failedByName) {
		const row = perName.get(r.name) ?? { name: r.name, hour: r.hour, day: r.day, failedHour: 0, failedDay: 0 };
		perName.set(r.name, { ...row, failedHour: r.hour, failedDay: r.day });
	}

	const buckets: Bucket[] = Array.from({ length: RANGES[range].buckets }, (_, i) => ({
		start: new Date(q.from.getTime() + i * q.bucketMs),
		enqueued: 0,
		succeeded: 0,
		failed: 0,
	}));
	const bucketAt = (index: number) => buckets[index - q.from.getTime() / q.bucketMs];
	for (const r of enqueued) {
		const bucket = bucketAt(r.bucket);
		if (bucket) bucket.enqueued = r.n;
	}
	for (const r of finished) {
		const bucket = bucketAt(r.bucket);
		if (bucket && r.status === "SUCCESS") bucket.succeeded = r.n;
		if (bucket && r.status === "FAILURE") bucket.failed = r.n;
	}

	const oldest = oldestDue[0];
	return {
		now,
		range,
		states: TASK_STATES.map((state) => {
			const row = byState.find((r) => r.status === state);
			return { state, hour: row?.hour ?? 0, day: row?.day ?? 0 };
		}),
		names: [...perName.values()].sort((a, b) => b.day - a.day || a.name.localeCompare(b.name)),
		unfinished: Object.fromEntries(
			UNFINISHED.map((state) => [state, unfinished.find((r) => r.status === state)?.n ?? 0]),
		) as Overview["unfinished"],
		oldestDue: oldest?.dueAt ? { id: oldest.id, name: oldest.name, dueAt: oldest.dueAt } : null,
		buckets,
		recentFailures: failures.tasks,
		waiting,
	};
}
