// Transactional tasks: a task whose whole work is statements on the engine's
// D1 database declares them (defineTask's `transaction`) instead of running
// them itself. The consumer then writes the claim, the work and the outcome in
// one D1 batch, which D1 applies as one transaction: the work is done once
// however often its message is delivered, and a batch of such tasks costs one
// round trip. Should that batch fail, the consumer claims without the work and
// runs it as any task (runTransaction below), so that its error is recorded
// and retried.
import { eq, inArray, SQL, sql } from "drizzle-orm";
import type { BatchItem as DrizzleBatchItem } from "drizzle-orm/batch";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import type { Json } from "./json";
import { MAX_OPEN_CONNECTIONS } from "./limits";
import { tasks } from "./schema";
import { mapSettled } from "./settle";
import { sourcesOf } from "./states";

/** A statement of a task's work, not yet run: a drizzle query, or raw SQL written with drizzle's `sql`. */
export type WorkStatement = (DrizzleBatchItem<"sqlite"> & { toSQL(): { sql: string; params: unknown[] } }) | SQL;

/** One run, in an expression over its row in `tasks` (the FROM of `runs.rows`, or the row `result` is for). */
export interface Run<I> {
	/** A field of the run's input. */
	field(name: keyof I & string): SQL;
}

/** The runs a statement of the work is for, as SQL over their rows in `tasks`. */
export interface Runs<I> extends Run<I> {
	/** A subquery of one input field of each run: `inArray(users.id, runs.input("user_id"))`. */
	input(name: keyof I & string): SQL;
	/** A condition on `tasks` that holds for the runs' rows: `SELECT ${runs.field("x")} FROM tasks WHERE ${runs.rows}`. */
	rows: SQL;
}

export interface Transaction<Ctx, I, R extends Json> {
	/**
	 * The drizzle client the work is written for, from the context. It must be
	 * over the engine's own D1 binding (the tasks table's database): the work
	 * joins the claim's transaction only then, and is run on its own otherwise.
	 */
	db(ctx: Ctx): { $client: D1Database };
	/**
	 * The statements that do the work of `runs`, run in order. In the claim's
	 * transaction they are done once per run; on their own (after a failed
	 * batch, or on another binding) a run's work may be done again, so it must
	 * be safe to run twice.
	 */
	work(ctx: Ctx, runs: Runs<I>): readonly WorkStatement[];
	/** Each run's result, as a SQL expression evaluated after the work (a JSON value, or text or a number). */
	result(run: Run<I>): SQL<R>;
}

const path = (field: string) => `$.${field}`;
const idList = (ids: readonly string[]) => sql`(SELECT value FROM json_each(${JSON.stringify(ids)}))`;
const theseRuns = (ids: readonly string[], token?: string): SQL => {
	const listed = inArray(tasks.id, idList(ids));
	return token === undefined ? listed : sql`${listed} AND ${eq(tasks.claimedBy, token)}`;
};

const field = (name: string) => sql`(${tasks.payload} ->> ${path(name)})`;
const run: Run<never> = { field };

function runsOf<I>(ids: readonly string[], token?: string): Runs<I> {
	const rows = theseRuns(ids, token);
	return { field, rows, input: (name) => sql`(SELECT ${field(name)} FROM ${tasks} WHERE ${rows})` };
}

const sqlite = new SQLiteAsyncDialect();
// The states a task may reach SUCCESS from (states.ts), as every outcome's write checks them.
const FROM = sql.raw(
	sourcesOf("SUCCESS")
		.map((s) => `'${s}'`)
		.join(", "),
);

const prepared = (d1: D1Database, q: WorkStatement) => {
	const { sql: text, params } = q instanceof SQL ? sqlite.sqlToQuery(q) : q.toSQL();
	return d1.prepare(text).bind(...params);
};

/**
 * The work and the outcome of the runs `ids` of a transactional task, for the
 * claim's own batch: the claim marks each run it takes with `token`, and these
 * statements touch only those. The last one's rows are the runs it finished,
 * with their results (finishedIn reads them).
 */
export function inClaim<Ctx, I, R extends Json>(
	d1: D1Database,
	transaction: Transaction<Ctx, I, R>,
	ctx: Ctx,
	ids: readonly string[],
	token: string,
	now: Date,
): D1PreparedStatement[] {
	const at = now.getTime();
	// Written as the engine's other outcomes are (store/tasks.ts, FINISH), as raw SQL.
	const finish = sql`UPDATE tasks SET status = 'SUCCESS', result = json_quote(${transaction.result(run)}), error = NULL,
		updated_at = ${at}, finished_at = ${at}, lease_expires_at = NULL, next_attempt_at = NULL
		WHERE ${theseRuns(ids, token)} AND +status IN (${FROM}) RETURNING id, result`;
	return [...transaction.work(ctx, runsOf(ids, token)).map((q) => prepared(d1, q)), prepared(d1, finish)];
}

/** The runs the claim's batch finished, by id, with their results, from the last statement's result. */
export function finishedIn(result: D1Result | undefined): Map<string, Json> {
	const finished = (result?.results ?? []) as { id: string; result: string }[];
	return new Map(finished.map((row) => [row.id, JSON.parse(row.result) as Json]));
}

/**
 * Runs a transactional task's work for runs already claimed, in a transaction
 * of its own (their outcomes are recorded after, as any task's): the path of
 * a claim without the work, and of a context whose database is not the
 * engine's binding. If the runs' one transaction fails, each run is tried in
 * its own, so that one bad input fails its run alone.
 */
export async function runTransaction<Ctx, I, R extends Json>(
	transaction: Transaction<Ctx, I, R>,
	ctx: Ctx,
	ids: readonly string[],
): Promise<PromiseSettledResult<R>[]> {
	try {
		const results = await transactionOf(transaction, ctx, ids);
		return ids.map((id) => settledOf(id, results));
	} catch (err) {
		if (ids.length === 1) return [{ status: "rejected", reason: err }];
		return mapSettled(ids, MAX_OPEN_CONNECTIONS, async (id) => {
			const settled = settledOf(id, await transactionOf(transaction, ctx, [id]));
			if (settled.status === "rejected") throw settled.reason;
			return settled.value;
		});
	}
}

/** Runs the work of `ids` and reads their results, in one transaction; returns the results by id. */
async function transactionOf<Ctx, I, R extends Json>(transaction: Transaction<Ctx, I, R>, ctx: Ctx, ids: readonly string[]) {
	const d1 = transaction.db(ctx).$client;
	const results = sql`SELECT id, json_quote(${transaction.result(run)}) AS result FROM tasks WHERE ${theseRuns(ids)}`;
	const settled = await d1.batch([...transaction.work(ctx, runsOf(ids)).map((q) => prepared(d1, q)), prepared(d1, results)]);
	const rows = (settled.at(-1)?.results ?? []) as { id: string; result: string }[];
	return new Map(rows.map((row) => [row.id, JSON.parse(row.result) as R]));
}

function settledOf<R>(id: string, results: ReadonlyMap<string, R>): PromiseSettledResult<R> {
	const value = results.get(id);
	return value === undefined
		? { status: "rejected", reason: new Error(`task ${id} has no row to compute its result from`) }
		: { status: "fulfilled", value };
}
