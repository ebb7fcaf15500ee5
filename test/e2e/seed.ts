// A realistic last hour for the browser test and the screenshot in docs/dashboard.md:
// about fifteen hundred emails and user updates, an SMTP outage twenty minutes
// ago that made some of them retry and fail, and a little work still in
// flight. Rows are written straight into D1, shaped as the Worker writes them.

/** Deterministic pseudo-random numbers, so every run draws the same picture. */
function random(seed: number) {
	let state = seed;
	return () => {
		state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
		return state / 2 ** 32;
	};
}

const MIN = 60_000;
const people = ["ada", "grace", "alan", "edsger", "barbara", "donald", "margaret", "ken", "radia", "tim"];
const subjects = ["Welcome to Acme", "Your receipt", "Password reset", "Weekly digest", "Your export is ready"];
const OUTAGE = "SMTP 421 4.7.0 Try again later";
const TIMEOUT = "upstream timeout after 30 s";

interface SeedRow {
	name: "send_email" | "process_user_data";
	payload: unknown;
	status: "PENDING" | "STARTED" | "RETRY" | "SUCCESS" | "FAILURE";
	result?: unknown;
	error?: string;
	attempts: number;
	created: number;
	started?: number;
	finished?: number;
	history: { attempt: number; at: number; status: "RETRY" | "FAILURE"; error: string; delaySeconds: number | null }[];
}

const values = (id: string, r: SeedRow) => [
	id,
	r.name,
	JSON.stringify(r.payload),
	r.status,
	r.result === undefined ? null : JSON.stringify(r.result),
	r.error ?? null,
	r.attempts,
	r.created,
	r.started ?? null,
	r.finished ?? null,
	r.finished ?? r.started ?? r.created,
	r.created,
	JSON.stringify(r.history),
];

/** One finished task created at `created`; during the outage emails retry and often fail. */
function finishedTask(next: () => number, created: number, outage: boolean): SeedRow {
	const person = people[Math.floor(next() * people.length)] ?? "ada";
	if (next() >= 0.7) {
		const userId = Math.floor(next() * 5000) + 1;
		const done = created + 120 + Math.floor(next() * 400);
		const result = `Processed user ${userId}`;
		return {
			name: "process_user_data",
			payload: { user_id: userId },
			status: "SUCCESS",
			result,
			attempts: 1,
			created,
			started: done - 80,
			finished: done,
			history: [],
		};
	}
	const payload = {
		recipient: `${person}@example.com`,
		subject: subjects[Math.floor(next() * subjects.length)],
		body: `Hello ${person},\n\n${"Thanks for using Acme. ".repeat(20)}\n\nThe Acme team`,
	};
	const fails = outage ? next() < 0.45 : next() < 0.02;
	const retries = fails ? 3 : outage && next() < 0.5 ? 1 : 0;
	const history: SeedRow["history"] = [];
	let at = created + 200;
	for (let attempt = 1; attempt <= retries; attempt++) {
		const delaySeconds = Math.round(5 * 2 ** (attempt - 1) * next()) + 1;
		history.push({ attempt, at, status: "RETRY", error: attempt % 2 ? OUTAGE : TIMEOUT, delaySeconds });
		at += delaySeconds * 1000 + 300;
	}
	if (fails) history.push({ attempt: retries + 1, at, status: "FAILURE", error: OUTAGE, delaySeconds: null });
	const common = {
		name: "send_email",
		payload,
		attempts: retries + 1,
		created,
		started: at - 150,
		finished: at + 50,
		history,
	} as const;
	return fails
		? { ...common, status: "FAILURE", error: OUTAGE }
		: { ...common, status: "SUCCESS", result: `Email sent to ${payload.recipient}` };
}

/** Work still in flight: a short backlog, one running, one waiting to retry. */
function inFlight(now: number): SeedRow[] {
	const payload = { recipient: "ada@example.com", subject: "Welcome to Acme", body: "Hello" };
	const waiting = (ago: number): SeedRow => ({
		name: "send_email",
		payload,
		status: "PENDING",
		attempts: 0,
		created: now - ago,
		history: [],
	});
	const retryAt = now - 10_000;
	return [
		waiting(150_000),
		waiting(20_000),
		waiting(5_000),
		{ name: "send_email", payload, status: "STARTED", attempts: 1, created: now - 3000, started: now - 2000, history: [] },
		{
			...{
				name: "send_email",
				payload,
				status: "RETRY",
				error: TIMEOUT,
				attempts: 1,
				created: now - 30_000,
				started: now - 12_000,
			},
			history: [{ attempt: 1, at: retryAt, status: "RETRY", error: TIMEOUT, delaySeconds: 40 }],
		},
	];
}

export async function seedLastHour(db: D1Database, now = Date.now()): Promise<{ failedWithRetries: string; count: number }> {
	const next = random(7);
	const rows: [string, SeedRow][] = [];
	for (let minute = 59; minute >= 1; minute--) {
		const perMinute = Math.round(18 + 10 * Math.sin(minute / 6) + next() * 12);
		for (let i = 0; i < perMinute; i++) {
			const created = now - minute * MIN + Math.floor(next() * MIN);
			rows.push([crypto.randomUUID(), finishedTask(next, created, minute >= 18 && minute <= 24)]);
		}
	}
	for (const row of inFlight(now)) rows.push([crypto.randomUUID(), row]);

	const insert = db.prepare(
		`INSERT INTO tasks (id, name, payload, status, result, error, attempts, created_at, started_at, finished_at, updated_at, due_at, history)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	);
	for (let i = 0; i < rows.length; i += 500) {
		await db.batch(rows.slice(i, i + 500).map(([id, row]) => insert.bind(...values(id, row))));
	}
	const failed = rows.find(([, row]) => row.status === "FAILURE" && row.history.length === 4);
	return { failedWithRetries: failed?.[0] ?? "", count: rows.length };
}
