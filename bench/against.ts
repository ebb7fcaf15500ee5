// `npm run bench -- --against <run>`: the side-by-side rows. <run> is a run of
// the Flask + Celery reference benchmark (its bench.sh): the run's folder, or
// its results.env (KEY=VALUE lines), with summary.txt beside it for the stack's
// versions (run.ts reads the files; this module is pure). Each row is this run's figure over Celery's, against its goal; a
// row the local emulation bounds is shown against the probe that bounds it.

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

/** This run's figures that have a Celery counterpart. */
export interface EdgeFigures {
	sendEmail: { rps: number; p99: number };
	processUser: { rps: number; p99: number };
	drainUsers: number;
	drainEmails: number;
	roundTripMs: number;
	/** The same-run probes that bound a row locally, in their own units per second. */
	probes: { queueSend: number; emailSend: number };
}

// A row the local emulation bounds passes at this share of its probe's ceiling.
const OF_PROBE = 0.9;

/** The side-by-side table: rows of [measure, edge-tasks, Flask + Celery, ratio, verdict]. */
export function sideBySide(edge: EdgeFigures, celery: CeleryRun): string[][] {
	const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
	const rows: string[][] = [["vs Flask + Celery", "edge-tasks", "Flask + Celery", "ratio", "goal"]];
	const bounded = (value: number, probe: number, what: string) =>
		value >= OF_PROBE * probe
			? `bounded: ${Math.round((value / probe) * 100)}% of ${what} (${Math.round(probe)}/s)`
			: `${Math.round((value / probe) * 100)}% of ${what} (${Math.round(probe)}/s)`;
	// What bounds each enqueue route locally: every message costs a queue send,
	// and every email accepted is sent, on this machine, by the local send_email.
	const enqueue = (
		name: string,
		ours: { rps: number; p99: number },
		theirs: { rps: number; p99: number },
		probe: { rps: number; what: string },
	) => {
		const met = ours.rps >= 1.25 * theirs.rps && ours.p99 <= theirs.p99;
		rows.push([
			`enqueue ${name}`,
			`${ours.rps} req/s, p99 ${ours.p99} ms`,
			`${theirs.rps} req/s, p99 ${theirs.p99} ms`,
			`${ratio(ours.rps, theirs.rps)}, p99 ${ratio(ours.p99, theirs.p99)}`,
			met ? "met: >= 1.25x, p99 <= Celery's" : `MISSED >= 1.25x, p99 <= Celery's; ${bounded(ours.rps, probe.rps, probe.what)}`,
		]);
	};
	const emailAlone = { rps: edge.probes.emailSend, what: "the local send_email alone" };
	enqueue("POST /send-email", edge.sendEmail, celery.sendEmail, emailAlone);
	enqueue("POST /process-user/:id", edge.processUser, celery.processUser, {
		rps: edge.probes.queueSend,
		what: "one queue send",
	});
	rows.push([
		"drain 2,000 process_user_data",
		`${edge.drainUsers}/s`,
		`${celery.drainUsers}/s`,
		ratio(edge.drainUsers, celery.drainUsers),
		edge.drainUsers >= 2.5 * celery.drainUsers ? "met: >= 2.5x" : "MISSED: >= 2.5x",
	]);
	const emailsMet = edge.drainEmails >= 1.2 * celery.drainEmails;
	rows.push([
		"drain 500 send_email",
		`${edge.drainEmails}/s`,
		`${celery.drainEmails}/s`,
		ratio(edge.drainEmails, celery.drainEmails),
		emailsMet ? "met: >= 1.2x" : `MISSED >= 1.2x; ${bounded(edge.drainEmails, emailAlone.rps, emailAlone.what)}`,
	]);
	rows.push([
		"round trip, median",
		`${edge.roundTripMs} ms`,
		`${celery.roundTripMs} ms`,
		ratio(edge.roundTripMs, celery.roundTripMs),
		edge.roundTripMs <= celery.roundTripMs ? "met: <= Celery's" : "MISSED: <= Celery's",
	]);
	return rows;
}
