// What must hold after a chaos run, checked against D1 as it ended and what
// the run observed at the bindings. Each violation is one line; the goal is
// none. Extra emails inside a window the docs name are counted, by cause.
import { env } from "cloudflare:workers";
import type { HistoryEntry, TaskState } from "../../src/engine";
import { tasks } from "../../src/tasks";

export interface Observed {
	/** Every task an API call accepted (202), by id: the task's kind. */
	accepted: Map<string, string>;
	/** Task ids an Idempotency-Key (or a repeated retry) answered with 200. */
	replays: string[];
	/** Each accepted email, by task id: when the mailer accepted it. */
	sends: Map<string, number[]>;
	/** Faults that explain a second send of a task, by task id. */
	explained: Map<string, string[]>;
	/** Every API answer of 500 or above other than 503. */
	apiErrors: string[];
}

interface Row {
	id: string;
	name: string;
	status: TaskState;
	attempts: number;
	error: string | null;
	finished_at: number | null;
	history: string;
	email_effect: number;
}

const maxAttempts = new Map<string, number>(tasks.map((t) => [t.name, t.retry.maxRetries + 1]));

export async function checkInvariants(observed: Observed) {
	const violations: string[] = [];
	const ids = [...observed.accepted.keys(), ...observed.replays];
	const rows = new Map<string, Row>();
	for (let i = 0; i < ids.length; i += 500) {
		const part = await env.DB.prepare(
			`SELECT id, name, status, attempts, error, finished_at, history,
				(SELECT count(*) FROM task_effects e WHERE e.task_id = tasks.id AND e.key = 'email') AS email_effect
			FROM tasks WHERE id IN (SELECT value FROM json_each(?))`,
		)
			.bind(JSON.stringify(ids.slice(i, i + 500)))
			.all<Row>();
		for (const row of part.results) rows.set(row.id, row);
	}

	const final = { SUCCESS: 0, FAILURE: 0, REVOKED: 0 };
	const duplicates: Record<string, number> = {};
	let lost = 0;
	for (const id of observed.accepted.keys()) {
		const row = rows.get(id);
		if (!row || !(row.status in final)) {
			lost++;
			violations.push(`lost: ${id} is ${row?.status ?? "not recorded"}`);
			continue;
		}
		final[row.status as keyof typeof final]++;
		const sends = observed.sends.get(id) ?? [];
		if (row.status === "REVOKED" && sends.some((at) => row.finished_at !== null && at > row.finished_at)) {
			violations.push(`revoked task ran: ${id}`);
		}
		const history = JSON.parse(row.history) as HistoryEntry[];
		const illegal = illegalHistory(row, history);
		if (illegal) violations.push(`illegal history: ${id}: ${illegal}`);
		const most = maxAttempts.get(row.name);
		if (most !== undefined && row.attempts > most) violations.push(`attempts: ${id} ran ${row.attempts} times, at most ${most}`);
		if (row.name === "send_email" && row.status === "SUCCESS") {
			if (row.email_effect !== 1) violations.push(`send_email ${id} is SUCCESS with ${row.email_effect} recorded sends`);
			if (sends.length === 0) violations.push(`send_email ${id} is SUCCESS but no email was accepted`);
		}
		const extra = Math.max(0, sends.length - 1);
		const causes = observed.explained.get(id) ?? [];
		for (let i = 0; i < extra; i++) {
			const cause = causes[i] ?? "outside every named window";
			duplicates[cause] = (duplicates[cause] ?? 0) + 1;
			if (!causes[i]) violations.push(`duplicate email outside a named window: ${id}`);
		}
	}
	for (const id of observed.replays) {
		const row = rows.get(id);
		if (!row) violations.push(`a 200 replay named ${id}, which is not recorded`);
		else if (row.error?.startsWith("enqueue failed")) violations.push(`a 200 replay named ${id}, which never reached the queue`);
	}
	violations.push(...observed.apiErrors.map((e) => `API error: ${e}`));
	return { final, lost, duplicates, violations };
}

/** Why a task's timeline is not a path the state machine allows, or undefined if it is. */
function illegalHistory(row: Row, history: HistoryEntry[]): string | undefined {
	for (const [i, entry] of history.entries()) {
		const before = history[i - 1];
		if (before && entry.attempt < before.attempt) return `attempt ${entry.attempt} after ${before.attempt}`;
		if (entry.status === "FAILURE" && i !== history.length - 1) return "an entry after FAILURE";
	}
	const last = history.at(-1);
	if (row.status === "FAILURE" && last?.status !== "FAILURE") return "FAILURE without its entry";
	if (row.status !== "FAILURE" && last?.status === "FAILURE") return `${row.status} after a FAILURE entry`;
	return undefined;
}
