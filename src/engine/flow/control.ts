// FlowControl: the Durable Object that keeps one limit of one task, for every
// key of it: a rate window, or a debounce's latest task, per key (concurrency
// slots are kept by the claim in D1: flow/slots.ts). A Durable Object is one
// instance worldwide, so what it admits is admitted across every consumer
// invocation and location, not per isolate.
// One object per limit rather than per key: a batch asks it once whatever the
// number of keys in the batch, which keeps a batch within the subrequest
// budget; each call is a few statements on the object's own SQLite storage.
// An alarm deletes what has expired, so keys at rest leave no rows. The
// schema stays: re-creating it after every emptying cost more than the rest
// of a call.
import { DurableObject } from "cloudflare:workers";

/** A run asking to start: its task id and its key. */
export interface RunRequest {
	id: string;
	key: string;
}

export interface TakeRequest {
	kind: "rate";
	limit: number;
	periodMs: number;
	runs: RunRequest[];
}

/**
 * The rate places (key and start) of runs that never started. `places` is
 * optional because a Worker still on older code sent task ids only: those
 * places then expire with their window.
 */
export interface GiveRequest {
	kind: "rate";
	places?: { key: string; at: number }[];
}

export interface TakeReply {
	/** Admitted runs, with when they were admitted (the start the rate window counts). */
	admitted: { id: string; at: number }[];
	/** Runs to ask again later: how long until a place is expected free. */
	waiting: { id: string; retryInMs: number }[];
}

// A rate-limited run told to come back at a set time keeps that place for it
// this long past the time; a run that never comes back (revoked meanwhile)
// stops blocking others then.
const RESERVATION_GRACE_MS = 30_000;
const MIN_RETRY_MS = 1_000;

// It reads no bindings: every limit's figures come with each request.
export class FlowControl extends DurableObject<unknown> {
	private readonly sql: SqlStorage;
	/** When the alarm is set for (null: none), once read; this object alone sets it. */
	private alarmAt: number | null | undefined;
	/** The rate window's period as stored, so that a take writes it only when it changes. */
	private periodMs: number | undefined;

	constructor(ctx: DurableObjectState, env: unknown) {
		super(ctx, env);
		this.sql = ctx.storage.sql;
		this.createSchema();
	}

	// The object's own storage, not D1: its schema lives with its code.
	private createSchema(): void {
		this.sql.exec(`
			CREATE TABLE IF NOT EXISTS admissions (key TEXT NOT NULL, at INTEGER NOT NULL, n INTEGER NOT NULL,
				PRIMARY KEY (key, at)) WITHOUT ROWID;
			CREATE INDEX IF NOT EXISTS admissions_at ON admissions (at);
			CREATE TABLE IF NOT EXISTS reserved (task_id TEXT PRIMARY KEY, key TEXT NOT NULL, at INTEGER NOT NULL);
			CREATE INDEX IF NOT EXISTS reserved_key ON reserved (key, at);
			CREATE TABLE IF NOT EXISTS latest (key TEXT PRIMARY KEY, task_id TEXT NOT NULL, due_at INTEGER NOT NULL);
			CREATE INDEX IF NOT EXISTS latest_due ON latest (due_at);
			CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);`);
		// Objects from before kept a row per admitted run; their window carries over as counts.
		const [legacy] = this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'admitted'").toArray();
		if (legacy) {
			this.sql.exec(`
				INSERT INTO admissions (key, at, n) SELECT key, at, count(*) FROM admitted WHERE true GROUP BY key, at
				ON CONFLICT (key, at) DO UPDATE SET n = n + excluded.n;
				DROP TABLE admitted;`);
		}
		// Concurrency objects from before kept slots here; the claim keeps them now.
		this.sql.exec("DROP TABLE IF EXISTS slots");
	}

	/** Admits what the limit allows of `runs`, in order; tells the rest when to ask again. */
	async take(request: TakeRequest): Promise<TakeReply> {
		// A Worker still on older code may ask for a concurrency slot, which this
		// object no longer keeps: refused, its runs wait as for a limiter down.
		if (request.kind !== "rate") throw new Error(`FlowControl keeps rate limits only, not ${String(request.kind)}`);
		const now = Date.now();
		const reply: TakeReply = { admitted: [], waiting: [] };
		this.periodMs ??= this.meta<number>("periodMs");
		if (this.periodMs !== request.periodMs) {
			this.setMeta("periodMs", request.periodMs);
			this.periodMs = request.periodMs;
		}
		this.prune(now, request.periodMs);
		for (const [key, runs] of Map.groupBy(request.runs, (run) => run.key)) this.takeRate(key, runs, request, now, reply);
		await this.armAlarm();
		return reply;
	}

	/** Gives back a rate window's admissions of runs that never started. */
	async give(request: GiveRequest): Promise<void> {
		for (const { key, at } of request.places ?? []) {
			const [left] = this.sql
				.exec<{ n: number }>("UPDATE admissions SET n = n - 1 WHERE key = ? AND at = ? RETURNING n", key, at)
				.toArray();
			if (left && left.n <= 0) this.sql.exec("DELETE FROM admissions WHERE key = ? AND at = ?", key, at);
		}
		await this.armAlarm();
	}

	/**
	 * Debounce: `id` is now the key's latest task, due `windowMs` from now.
	 * Returns the task it replaces: the previous latest, if it is not due yet.
	 */
	async debounce(request: { id: string; key: string; windowMs: number }): Promise<{ replaced: string | null }> {
		const now = Date.now();
		const [latest] = this.sql
			.exec<{ task_id: string; due_at: number }>("SELECT task_id, due_at FROM latest WHERE key = ?", request.key)
			.toArray();
		this.sql.exec(
			"INSERT OR REPLACE INTO latest (key, task_id, due_at) VALUES (?, ?, ?)",
			request.key,
			request.id,
			now + request.windowMs,
		);
		await this.armAlarm();
		return { replaced: latest && latest.due_at > now && latest.task_id !== request.id ? latest.task_id : null };
	}

	/** Deletes what has expired, and sets the next alarm if anything is left to expire. */
	override async alarm(): Promise<void> {
		this.alarmAt = null;
		this.prune(Date.now(), this.meta<number>("periodMs") ?? 0);
		await this.armAlarm();
	}

	// Reads what it needs of the key's window (a count, and the oldest or the
	// limit-th latest start only when the window is full), not the window's
	// whole log: a limit of thousands a minute would otherwise read thousands
	// of rows on every call. The window is kept as counts of starts per
	// instant: every run a call admits for a key starts at the same `now`, so
	// a call writes one row per key, however many runs it admits.
	private takeRate(
		key: string,
		runs: RunRequest[],
		{ limit, periodMs }: { limit: number; periodMs: number },
		now: number,
		reply: TakeReply,
	): void {
		let starts = this.sql.exec<{ n: number }>("SELECT coalesce(sum(n), 0) AS n FROM admissions WHERE key = ?", key).one().n;
		const reserved = new Map(
			this.sql
				.exec<{ task_id: string; at: number }>("SELECT task_id, at FROM reserved WHERE key = ?", key)
				.toArray()
				.map((r) => [r.task_id, r.at]),
		);
		// Admissions of this call not yet written: written once, before a read that counts them and at the end.
		let unwritten = 0;
		const write = () => {
			if (unwritten === 0) return;
			this.sql.exec(
				"INSERT INTO admissions (key, at, n) VALUES (?, ?, ?) ON CONFLICT (key, at) DO UPDATE SET n = n + excluded.n",
				key,
				now,
				unwritten,
			);
			unwritten = 0;
		};
		const admit = (id: string) => {
			unwritten++;
			starts++;
			reply.admitted.push({ id, at: now });
		};
		// The oldest start; this call's own, all at `now`, are never older than any written.
		const oldestStart = () =>
			this.sql.exec<{ at: number | null }>("SELECT min(at) AS at FROM admissions WHERE key = ?", key).one().at ?? now;
		for (const { id } of runs) {
			const place = reserved.get(id);
			if (place !== undefined) {
				if (place <= now && starts < limit) {
					this.sql.exec("DELETE FROM reserved WHERE task_id = ?", id);
					reserved.delete(id);
					admit(id);
				} else {
					// Early, or the window is still full: the run keeps its place.
					const free = place > now ? place : oldestStart() + periodMs;
					reply.waiting.push({ id, retryInMs: Math.max(MIN_RETRY_MS, free - now) });
				}
				continue;
			}
			// Places already due belong to the runs they were promised to.
			let promised = 0;
			for (const at of reserved.values()) if (at <= now) promised++;
			if (starts + promised < limit) {
				admit(id);
				continue;
			}
			// The next place that keeps every window within the limit, after every
			// place already promised: the limit-th latest start or place, one
			// period on. Waiters come back one by one, not all at once.
			write();
			const [nth] = this.sql
				.exec<{ at: number }>(
					`SELECT at FROM (
						SELECT at, sum(n) OVER (ORDER BY at DESC ROWS UNBOUNDED PRECEDING) AS latest
						FROM (SELECT at, n FROM admissions WHERE key = ?1 UNION ALL SELECT at, 1 FROM reserved WHERE key = ?1))
					WHERE latest >= ?2 ORDER BY at DESC LIMIT 1`,
					key,
					limit,
				)
				.toArray();
			const at = Math.max(now + MIN_RETRY_MS, (nth?.at ?? now) + periodMs);
			this.sql.exec("INSERT OR REPLACE INTO reserved (task_id, key, at) VALUES (?, ?, ?)", id, key, at);
			reserved.set(id, at);
			reply.waiting.push({ id, retryInMs: at - now });
		}
		write();
	}

	private prune(now: number, periodMs: number): void {
		this.sql.exec("DELETE FROM admissions WHERE at <= ?", now - periodMs);
		this.sql.exec("DELETE FROM reserved WHERE at < ?", now - RESERVATION_GRACE_MS);
		this.sql.exec("DELETE FROM latest WHERE due_at <= ?", now);
	}

	/**
	 * The alarm at the next expiry, unless one is already set no later: an
	 * early alarm prunes and sets the next. With nothing left to expire, any
	 * alarm set stays (it finds nothing and sets none): clearing it on every
	 * emptying would be a storage write per batch.
	 */
	private async armAlarm(): Promise<void> {
		const periodMs = this.meta<number>("periodMs") ?? 0;
		const next = this.sql
			.exec<{ at: number | null }>(
				`SELECT min(at) AS at FROM (
					SELECT min(at) + ? AS at FROM admissions
					UNION ALL SELECT min(at) + ? FROM reserved
					UNION ALL SELECT min(due_at) FROM latest)`,
				periodMs,
				RESERVATION_GRACE_MS,
			)
			.one().at;
		if (next === null) return;
		if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
		if (this.alarmAt !== null && this.alarmAt <= next + 1) return;
		await this.ctx.storage.setAlarm(next + 1);
		this.alarmAt = next + 1;
	}

	private meta<T>(key: string): T | undefined {
		const [row] = this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = ?", key).toArray();
		return row ? (JSON.parse(row.v) as T) : undefined;
	}

	private setMeta(key: string, value: unknown): void {
		this.sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", key, JSON.stringify(value));
	}
}
