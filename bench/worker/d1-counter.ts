// A thin wrapper around the D1 binding that counts what the Worker asks of D1:
// round trips (each call that reaches the database: a statement's run / all /
// first / raw, a batch, an exec) and statements (a batch of n counts n).
// Bench-only: it lets `npm run bench` report measured, not estimated, numbers.

export interface D1Counts {
	roundTrips: number;
	statements: number;
}

const EXECUTE = new Set(["run", "all", "first", "raw"]);

export function countingD1(db: D1Database, counts: D1Counts): D1Database {
	// Statements handed back to the Worker are proxies; batch() must pass the
	// real ones to the real binding.
	const real = new WeakMap<object, D1PreparedStatement>();

	const wrapStatement = (statement: D1PreparedStatement): D1PreparedStatement => {
		const proxy = new Proxy(statement, {
			get(target, prop) {
				const value = Reflect.get(target, prop, target);
				if (typeof value !== "function") return value;
				if (prop === "bind") return (...params: unknown[]) => wrapStatement(target.bind(...params));
				if (typeof prop === "string" && EXECUTE.has(prop)) {
					return (...args: unknown[]) => {
						counts.roundTrips++;
						counts.statements++;
						return Reflect.apply(value, target, args);
					};
				}
				return value.bind(target);
			},
		});
		real.set(proxy, statement);
		return proxy;
	};

	return new Proxy(db, {
		get(target, prop) {
			const value = Reflect.get(target, prop, target);
			if (prop === "prepare") return (sql: string) => wrapStatement(target.prepare(sql));
			if (prop === "batch") {
				return (statements: D1PreparedStatement[]) => {
					counts.roundTrips++;
					counts.statements += statements.length;
					return target.batch(statements.map((s) => real.get(s) ?? s));
				};
			}
			if (prop === "exec") {
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
