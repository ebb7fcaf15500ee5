// `npm run bench -- --against <run>`: the side-by-side rows. <run> is a run of
// the Flask + Celery reference benchmark (its bench.sh): the run's folder, or
// its results.env (KEY=VALUE lines), with summary.txt beside it for the stack's
// versions (run.ts reads the files; this module is pure). Each row is this
// run's figure over Celery's, against its goal; a row that misses it is shown
// against the bare floor measured in the same run, which tells whether the
// local emulation bounds it.

export interface CeleryRun {
	/** The run's name (its folder: a timestamp). */
	run: string;
	/** The "stack:" lines of its summary: Flask, Celery, redis, gunicorn versions. */
	stack: string;
	sendEmail: { rps: number; p99: number };
	processUser: { rps: number; p99: number };
	drainUsers: number;
	drainEmails: number;
	roundTripMs: number;
}

/** A run from its results.env text and, if there is one, its summary.txt text. */
export function parseCeleryRun(run: string, results: string, summary?: string): CeleryRun {
	const values = new Map(
		results.split("\n").flatMap((line) => {
			const at = line.indexOf("=");
			return at > 0 ? [[line.slice(0, at), line.slice(at + 1)] as const] : [];
		}),
	);
	const number = (key: string) => {
		const value = Number(values.get(key) ?? Number.NaN);
		if (!Number.isFinite(value)) throw new Error(`Celery run ${run}: no number for ${key} in results.env`);
		return value;
	};
	const stack = summary
		? summary
				.split("\n")
				.filter((line) => /^stack:|^\s+gunicorn/.test(line))
				.map((line) => line.replace(/^stack:\s*/, "").trim())
				.join(" ")
		: "versions unknown (no summary.txt beside results.env)";
	return {
		run,
		stack,
		sendEmail: { rps: number("wrk_send_email_rps"), p99: number("wrk_send_email_p99_ms") },
		processUser: { rps: number("wrk_process_user_rps"), p99: number("wrk_process_user_p99_ms") },
		drainUsers: number("drain_users_tasks_per_s"),
		drainEmails: number("drain_email_emails_per_s"),
		roundTripMs: number("roundtrip_process_user_median_ms"),
	};
}

/** A rate and the 99th percentile of its requests' latency. */
export interface Load {
	rps: number;
	p99: number;
}

/** The figures that have a Celery counterpart: this run's, or its bare floor's. */
export interface Figures {
	sendEmail: Load;
	processUser: Load;
	drainUsers: number;
	drainEmails: number;
	roundTripMs: number;
}

/**
 * This run's figures, and the same measured in the same run against the bench
 * entry's bare floor (bench/worker/entry.ts): the same routes, queue, D1 and
 * send_email with a consumer that only does the task's work and writes its
 * result. What the floor cannot reach, the local emulation bounds.
 */
export interface EdgeFigures extends Figures {
	floor: Figures;
}

// A missed row the local emulation bounds passes at this share of the floor:
// of its rate, and of its latency (the floor's over ours).
const OF_FLOOR = 0.9;

/** The side-by-side table: rows of [measure, edge-tasks, Flask + Celery, ratio, verdict]. */
export function sideBySide(edge: EdgeFigures, celery: CeleryRun): string[][] {
	const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
	// Rounded down: a row at 89.7% of the floor must not read "90%" beside a verdict that it is not bounded.
	const percent = (share: number) => `${Math.floor(share * 100)}%`;
	const rows: string[][] = [["vs Flask + Celery", "edge-tasks", "Flask + Celery", "ratio", "goal"]];
	// A row that misses its goal is bounded when the floor misses it too and
	// the row comes within OF_FLOOR of the floor on every measure the goal names.
	const verdict = (goal: string, met: boolean, floorMet: boolean, floor: string, shares: number[]) => {
		if (met) return `met: ${goal}`;
		const near = `${shares.map(percent).join(", ")} of the bare floor (${floor})`;
		if (!floorMet && shares.every((share) => share >= OF_FLOOR)) return `MISSED ${goal}; bounded: ${near}`;
		return `MISSED ${goal}; ${floorMet ? "the bare floor meets it" : "the bare floor misses it too"}: ${near}`;
	};
	const enqueue = (name: string, pick: (f: Figures) => Load, theirs: Load) => {
		const ours = pick(edge);
		const floor = pick(edge.floor);
		const meets = (l: Load) => l.rps >= 1.25 * theirs.rps && l.p99 <= theirs.p99;
		rows.push([
			`enqueue ${name}`,
			`${ours.rps} req/s, p99 ${ours.p99} ms`,
			`${theirs.rps} req/s, p99 ${theirs.p99} ms`,
			`${ratio(ours.rps, theirs.rps)}, p99 ${ratio(ours.p99, theirs.p99)}`,
			verdict(">= 1.25x, p99 <= Celery's", meets(ours), meets(floor), `${floor.rps} req/s, p99 ${floor.p99} ms`, [
				ours.rps / floor.rps,
				floor.p99 / ours.p99,
			]),
		]);
	};
	enqueue("POST /send-email", (f) => f.sendEmail, celery.sendEmail);
	enqueue("POST /process-user/:id", (f) => f.processUser, celery.processUser);
	const drain = (name: string, pick: (f: Figures) => number, theirs: number, times: number) => {
		const ours = pick(edge);
		const floor = pick(edge.floor);
		rows.push([
			name,
			`${ours}/s`,
			`${theirs}/s`,
			ratio(ours, theirs),
			verdict(`>= ${times}x`, ours >= times * theirs, floor >= times * theirs, `${floor}/s`, [ours / floor]),
		]);
	};
	drain("drain 2,000 process_user_data", (f) => f.drainUsers, celery.drainUsers, 2.5);
	drain("drain 500 send_email", (f) => f.drainEmails, celery.drainEmails, 1.2);
	const floorTrip = edge.floor.roundTripMs;
	rows.push([
		"round trip, median",
		`${edge.roundTripMs} ms`,
		`${celery.roundTripMs} ms`,
		ratio(edge.roundTripMs, celery.roundTripMs),
		verdict("<= Celery's", edge.roundTripMs <= celery.roundTripMs, floorTrip <= celery.roundTripMs, `${floorTrip} ms`, [
			floorTrip / edge.roundTripMs,
		]),
	]);
	return rows;
}
