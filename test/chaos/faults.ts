// The chaos run's faults: a seeded random source, and wrappers around the
// real bindings that fail where the seed says. Nothing here replaces a
// binding's behaviour; each wrapper throws or records, then calls through.

/** mulberry32: a small, fast, seeded PRNG; every fault decision comes from it, so a seed replays. */
export function seededRandom(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
	};
}

/** Each fault's rate: the chance it strikes at each place it can. */
export const DEFAULT_RATES = {
	/** The mailer throws before accepting a message. */
	mailerThrows: 0.05,
	/** The mailer accepts, then the effects write fails (once: the engine tries again). */
	effectsWriteFails: 0.05,
	/** D1 throws on a statement, by class. */
	claimFails: 0.03,
	outcomeFails: 0.03,
	historyFails: 0.03,
	keysFail: 0.02,
	/** A message is delivered twice in the same batch, or again in a later one. */
	duplicateInBatch: 0.02,
	duplicateLater: 0.02,
	/** A whole batch is delivered again after it was consumed. */
	batchRetried: 0.02,
	/** The consumer dies mid-batch: after some sends, before their record. */
	consumerDies: 0.03,
	/** A run outlives its lease: another delivery claims the task while it runs. */
	leaseOutlived: 0.01,
	/** Recovery and expiry run alongside a batch (after the clock moved on). */
	maintenanceRaces: 0.05,
	/** The queue refuses an enqueue's send. */
	queueSendFails: 0.05,
	/** A message exhausts its retries and lands on the dead-letter queue. */
	deadLettered: 0.01,
} as const;

export type FaultKind = keyof typeof DEFAULT_RATES;
export type Rates = Record<FaultKind, number>;

/** Counts and logs every fault that struck, in order, so a failure can be replayed and read. */
export class Faults {
	readonly counts = Object.fromEntries(Object.keys(DEFAULT_RATES).map((k) => [k, 0])) as Record<FaultKind, number>;
	readonly log: string[] = [];
	constructor(
		readonly random: () => number,
		public rates: Rates,
	) {}

	/** Whether `kind` strikes now; `where` says at what, for the log. */
	strike(kind: FaultKind, where: string): boolean {
		if (this.random() >= this.rates[kind]) return false;
		this.counts[kind]++;
		this.log.push(`${kind} @ ${where}`);
		return true;
	}
}

/** Which class of engine statement a SQL text is, for D1 faults. */
export function statementClass(sql: string): "claim" | "outcome" | "history" | "effects" | "keys" | undefined {
	if (sql.includes("INSERT INTO tasks (id, name, payload, status, attempts")) return "claim";
	if (sql.includes("INSERT INTO task_effects")) return "effects";
	if (sql.includes('"idempotency_keys"') || sql.includes("idempotency_keys")) return "keys";
	if (sql.includes("UPDATE tasks SET status = 'SUCCESS'")) return "outcome";
	if (sql.includes("UPDATE tasks SET status = 'RETRY'") || sql.includes("UPDATE tasks SET status = 'FAILURE'")) return "history";
	return undefined;
}

/**
 * A D1 binding that throws where the faults say (and everywhere once `dead`
 * is set: a consumer that died reaches nothing), and otherwise is the real one.
 */
export function faultyD1(real: D1Database, faults: Faults, state: { dead: boolean; consuming: boolean }): D1Database {
	const failIf = (sql: string) => {
		if (state.dead) throw new Error("D1_ERROR: the Worker died");
		const kind = statementClass(sql);
		if (!kind) return;
		const fault = (
			{
				claim: "claimFails",
				outcome: "outcomeFails",
				history: "historyFails",
				effects: "effectsWriteFails",
				keys: "keysFail",
			} as const
		)[kind];
		// Keys are the producer's; the rest only fail while a batch is consumed.
		if ((kind === "keys") === !state.consuming && faults.strike(fault, kind)) {
			throw new Error(`D1_ERROR: injected fault on ${kind}`);
		}
	};
	const prepare = (sql: string): D1PreparedStatement => {
		const statement = real.prepare(sql);
		const bind = statement.bind.bind(statement);
		return new Proxy(statement, {
			get(target, prop, receiver) {
				if (prop === "bind") {
					return (...params: unknown[]) => {
						failIf(sql);
						return bind(...params);
					};
				}
				const value = Reflect.get(target, prop, receiver);
				return typeof value === "function" ? value.bind(target) : value;
			},
		});
	};
	return new Proxy(real, {
		get(target, prop, receiver) {
			if (prop === "prepare") return prepare;
			if (prop === "batch") {
				return (statements: D1PreparedStatement[]) => {
					if (state.dead) throw new Error("D1_ERROR: the Worker died");
					return target.batch(statements);
				};
			}
			const value = Reflect.get(target, prop, receiver);
			return typeof value === "function" ? value.bind(target) : value;
		},
	});
}
