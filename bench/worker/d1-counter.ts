// A thin wrapper around the D1 binding that counts what the Worker asks of D1:
// round trips (each call that reaches the database: a statement's run / all /
// first / raw, a batch, an exec), statements (a batch of n counts n), and the
// rows D1 bills, summed from each result's meta (rows_read, rows_written).
// Bench-only: it lets `npm run bench` report measured, not estimated, numbers.

export interface D1Counts {
	roundTrips: number;
	statements: number;
	/** D1's meta.rows_read, summed: what D1 bills as rows read. */
	rowsRead?: number;
	/** D1's meta.rows_written, summed: what D1 bills as rows written. */
	rowsWritten?: number;
}

type Row = Record<string, unknown>;

const addRows = (counts: D1Counts, meta: D1Meta | undefined) => {
	counts.rowsRead = (counts.rowsRead ?? 0) + (meta?.rows_read ?? 0);
	counts.rowsWritten = (counts.rowsWritten ?? 0) + (meta?.rows_written ?? 0);
};

// first() and raw() hand back rows without D1's meta, so the counter runs the
// statement once with all() (which D1 answers from the same query) and gives
// the caller the shape it asked for.
async function first(statement: D1PreparedStatement, counts: D1Counts, column?: string): Promise<unknown> {
	const { results, meta } = await statement.all<Row>();
	addRows(counts, meta);
	const [row] = results;
	if (row === undefined) return null;
	if (column === undefined) return row;
	if (!(column in row)) throw new Error(`D1_COLUMN_NOTFOUND: Column not found (${column})`);
	return row[column];
}

async function raw(
	statement: D1PreparedStatement,
	sql: string,
	counts: D1Counts,
	options?: { columnNames?: boolean },
): Promise<unknown[][]> {
	// Column names come back only with rows: the engine (drizzle) never asks for them.
	if (options?.columnNames) throw new Error("d1-counter: raw({ columnNames: true }) is not counted");
	const { results, meta } = await statement.all<Row>();
	addRows(counts, meta);
	// A row object keeps its columns in select order, unless a name is an
	// integer (objects put those first) or appears twice (the second wins): the
	// engine selects neither, and this fails loudly rather than misorder one.
	for (const name of Object.keys(results[0] ?? {})) {
		if (/^\d+$/.test(name)) throw new Error(`d1-counter: column "${name}" would be misordered; cannot count raw() here`);
	}
	if (/\bjoin\b/i.test(sql)) throw new Error("d1-counter: a join may repeat a column name; cannot count raw() here");
	return results.map((row) => Object.values(row));
}

export function countingD1(db: D1Database, counts: D1Counts): D1Database {
	// Statements handed back to the Worker are proxies; batch() must pass the
	// real ones to the real binding.
	const real = new WeakMap<object, D1PreparedStatement>();

	const wrapStatement = (statement: D1PreparedStatement, sql: string): D1PreparedStatement => {
		const call = () => {
			counts.roundTrips++;
			counts.statements++;
		};
		const proxy = new Proxy(statement, {
			get(target, prop) {
				const value = Reflect.get(target, prop, target);
				if (typeof value !== "function") return value;
				switch (prop) {
					case "bind":
						return (...params: unknown[]) => wrapStatement(target.bind(...params), sql);
					case "run":
					case "all":
						return async () => {
							call();
							const result = (await Reflect.apply(value, target, [])) as D1Result;
							addRows(counts, result.meta);
							return result;
						};
					case "first":
						return (column?: string) => {
							call();
							return first(target, counts, column);
						};
					case "raw":
						return (options?: { columnNames?: boolean }) => {
							call();
							return raw(target, sql, counts, options);
						};
					default:
						return value.bind(target);
				}
			},
		});
		real.set(proxy, statement);
		return proxy;
	};

	return new Proxy(db, {
		get(target, prop) {
			const value = Reflect.get(target, prop, target);
			if (prop === "prepare") return (sql: string) => wrapStatement(target.prepare(sql), sql);
			if (prop === "batch") {
				return async (statements: D1PreparedStatement[]) => {
					counts.roundTrips++;
					counts.statements += statements.length;
					const results = await target.batch(statements.map((s) => real.get(s) ?? s));
					for (const result of results) addRows(counts, result.meta);
					return results;
				};
			}
			if (prop === "exec") {
				// exec() reports no rows; nothing in the Worker calls it.
				return (sql: string) => {
					counts.roundTrips++;
					counts.statements++;
					return target.exec(sql);
				};
			}
			return typeof value === "function" ? value.bind(target) : value;
		},
	});
}
