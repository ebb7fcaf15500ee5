// The aggregates behind the dashboard's overview (Flower's main page): counts
// per state and per task name over the last hour and day, finished tasks per
// time bucket, and the oldest task waiting to run. Every query is answered
// from an index range (test/app/dashboard-stats.test.ts checks the plans), and all
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

/**
 * How many tasks match, as a correlated subquery over one index range, which
 * SQLite answers by counting index entries and nothing more. A GROUP BY over
 * the day's rows, with sum() for the hour's column, did work per row and took
 * 2.4 times as long on the scale bench's million tasks. Every column is named:
 * D1's batch answers rows as objects, so two columns written alike would be one.
 */
const counted = (where: SQL, as: string) => sql<number>`(SELECT count(*) FROM ${tasks} WHERE ${where})`.as(as);

/** Per key (a state or a task name), its tasks created since the day's start and the hour's. */
function createdSince(
	db: EngineDb,
	column: typeof tasks.status | typeof tasks.name,
	keys: readonly string[],
	since: { day: Date; hour: Date },
) {
	// The keys travel as one JSON parameter: an app may register more task
	// names than D1 binds to one statement (limits.ts, MAX_BOUND_PARAMETERS).
	const from = (start: Date) => sql`${column} = k.value AND ${tasks.createdAt} >= ${start.getTime()}`;
	return db
		.select({
			key: sql<string>`k.value`.as("key"),
			day: counted(from(since.day), "day"),
			hour: counted(from(since.hour), "hour"),
		})
		.from(sql`json_each(${JSON.stringify(keys)}) AS k`);
}

/** The queries, built but not run: the overview runs them, the plan test explains them. */
export function overviewQueries(db: EngineDb, now: Date, range: Range, names: readonly string[]) {
	const dayAgo = new Date(now.getTime() - 24 * HOUR_MS);
	const hourAgo = new Date(now.getTime() - HOUR_MS);
	const inLastHour = sql<number>`sum(${tasks.createdAt} >= ${hourAgo.getTime()})`.mapWith(Number);
	const since = { day: dayAgo, hour: hourAgo };
	const { ms, buckets } = RANGES[range];
	const bucketMs = ms / buckets;
	const from = new Date((Math.floor(now.getTime() / bucketMs) - buckets + 1) * bucketMs);
	// Per bucket of the chart, counted ranges as above: created in it, and
	// finished in it as a success or a failure. The unary + keeps SQLite on
	// the finished index, which holds the status, and off the status index,
	// which would read every task of that status.
	const start = sql`${from.getTime()} + b.i * ${bucketMs}`;
	const end = sql`${from.getTime()} + (b.i + 1) * ${bucketMs}`;
	const finishedIn = (status: TaskState, as: string) =>
		counted(sql`${tasks.finishedAt} >= ${start} AND ${tasks.finishedAt} < ${end} AND +${tasks.status} = ${status}`, as);
	return {
		byState: createdSince(db, tasks.status, TASK_STATES, since),
		byName: createdSince(db, tasks.name, names, since),
		// Failures are few, so one pass over the day's is cheap.
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
		buckets: db
			.select({
				i: sql<number>`b.i`.as("i"),
				enqueued: counted(sql`${tasks.createdAt} >= ${start} AND ${tasks.createdAt} < ${end}`, "enqueued"),
				succeeded: finishedIn("SUCCESS", "succeeded"),
				failed: finishedIn("FAILURE", "failed"),
			})
			.from(sql`(WITH RECURSIVE b(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM b WHERE i < ${buckets - 1}) SELECT i FROM b) AS b`),
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
	const [[byState, byName, failedByName, unfinished, oldestDue, perBucket, waiting], failures] = await Promise.all([
		db.batch([q.byState, q.byName, q.failedByName, q.unfinished, q.oldestDue, q.buckets, q.waiting]),
		// The same query as GET /tasks?status=FAILURE.
		listTasks(db, { status: "FAILURE", limit: 8 }),
	]);

	const perName = new Map(
		byName.filter((r) => r.day > 0).map((r) => [r.key, { name: r.key, hour: r.hour, day: r.day, failedHour: 0, failedDay: 0 }]),
	);
	// Failures are counted for every name, so a poison message's unknown task
	// shows too: every task under such a name failed, so its failures are its totals.
	for (const r of failedByName) {
		const row = perName.get(r.name) ?? { name: r.name, hour: r.hour, day: r.day, failedHour: 0, failedDay: 0 };
		perName.set(r.name, { ...row, failedHour: r.hour, failedDay: r.day });
	}

	const buckets: Bucket[] = perBucket.map((r) => ({
		start: new Date(q.from.getTime() + r.i * q.bucketMs),
		enqueued: r.enqueued,
		succeeded: r.succeeded,
		failed: r.failed,
	}));

	const oldest = oldestDue[0];
	return {
		now,
		range,
		states: TASK_STATES.map((state) => {
			const row = byState.find((r) => r.key === state);
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
