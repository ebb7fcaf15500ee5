// What must hold after a chaos run, checked against D1 as it ended and what
// the run observed at the bindings. Each violation is one line; the goal is
// none. Extra emails inside a window the docs name are counted, by cause.
import { env } from "cloudflare:workers";
import type { HistoryEntry, TaskState } from "../../src/engine";
import { tasks } from "../../src/tasks";
import { EXCLUSIVE, type FlowTrack, RATED } from "./limited";

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
	/** Every accepted workflow: its kind and its steps' task ids in order. */
	workflows: Map<string, { kind: string; taskIds: string[] }>;
	/** Tasks recorded before their message (outbox, delays past 12 hours): release.ts sends them. */
	released: Set<string>;
	/** Every message handed to the queue, by task id: when it was due to arrive, in the tasks' clock. */
	messages: Map<string, number[]>;
	/** Tasks delayed past 12 hours: when they were due, in the tasks' clock. */
	due: Map<string, number>;
	/** What the flow-limited stand-ins saw of their own runs (test/chaos/limited.ts). */
	flow: FlowTrack;
}

interface Row {
	id: string;
	name: string;
	status: TaskState;
	attempts: number;
	error: string | null;
	started_at: number | null;
	finished_at: number | null;
	history: string;
	email_effect: number;
	recoveries: number;
	payload: string;
	waiting: string | null;
}

const maxAttempts = new Map<string, number>(tasks.map((t) => [t.name, t.retry.maxRetries + 1]));

export async function checkInvariants(observed: Observed) {
	const violations: string[] = [];
	const ids = [...observed.accepted.keys(), ...observed.replays];
	const rows = new Map<string, Row>();
	for (let i = 0; i < ids.length; i += 500) {
		const part = await env.DB.prepare(
			`SELECT id, name, status, attempts, error, started_at, finished_at, history, recoveries, payload, waiting,
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
		if ((row.name === "send_email" || row.name === "send_report") && row.status === "SUCCESS") {
			if (row.email_effect !== 1) violations.push(`${row.name} ${id} is SUCCESS with ${row.email_effect} recorded sends`);
			if (sends.length === 0) violations.push(`${row.name} ${id} is SUCCESS but no email was accepted`);
		}
		// Recorded before its message: the release sends it once; only recovery sends it again.
		const messages = observed.messages.get(id) ?? [];
		if (observed.released.has(id)) {
			if (messages.length > 1 + row.recoveries) {
				violations.push(`released twice: ${id} had ${messages.length} messages and ${row.recoveries} recoveries`);
			}
			if (row.attempts > 0 && messages.length === 0) violations.push(`ran without a message: ${id}`);
		}
		const due = observed.due.get(id);
		const arrives = Math.min(...messages);
		if (due !== undefined && messages.length > 0 && arrives < due - 1500) {
			violations.push(`early: ${id} was due at ${due}, its message arrived at ${arrives}`);
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
	for (const [id, flow] of observed.workflows) violations.push(...workflowViolations(id, flow, rows));
	violations.push(...flowViolations(observed, rows));
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

const FINAL = new Set<TaskState>(["SUCCESS", "FAILURE", "REVOKED"]);

/**
 * A chain runs a step only after every step before it succeeded; a chord's
 * callback runs once every member is final, and receives their outcomes as
 * they ended.
 */
function workflowViolations(id: string, flow: { kind: string; taskIds: string[] }, rows: Map<string, Row>): string[] {
	const steps = flow.taskIds.map((taskId) => rows.get(taskId));
	if (steps.some((s) => !s)) return [`workflow ${id}: a step is not recorded`];
	const found = steps as Row[];
	const out: string[] = [];
	if (flow.kind === "chain") {
		found.forEach((step, i) => {
			const before = found.slice(0, i);
			if (step.attempts > 0 && before.some((b) => b.status !== "SUCCESS"))
				out.push(`chain ${id}: step ${i + 1} ran after a step that did not succeed`);
			const previous = found[i - 1];
			if (step.started_at !== null && previous && (previous.finished_at ?? Number.POSITIVE_INFINITY) > step.started_at) {
				out.push(`chain ${id}: step ${i + 1} started before step ${i} finished`);
			}
		});
	}
	if (flow.kind === "chord") {
		const members = found.slice(0, -1);
		const callback = found.at(-1) as Row;
		if (callback.attempts > 0 && members.some((m) => !FINAL.has(m.status)))
			out.push(`chord ${id}: the callback ran before every member was final`);
		if (callback.status === "SUCCESS") {
			const results = (JSON.parse(callback.payload) as { results?: { task_id: string; status: string }[] }).results ?? [];
			const given = results.map((r) => `${r.task_id} ${r.status}`).join(", ");
			const ended = members.map((m) => `${m.id} ${m.status}`).join(", ");
			if (given !== ended) out.push(`chord ${id}: the callback received [${given}], the members ended [${ended}]`);
		}
	}
	return out;
}

/**
 * Nothing lost, nothing over its limit: every flow-limited task ended final
 * (a SUCCESS having run, and none still marked waiting); no key of the
 * concurrency-limited task ever had more than its limit of runs in flight;
 * and no window of periodSeconds holds more than the rate limit's starts of
 * one key (by the rows' started_at: the admission time).
 */
function flowViolations(observed: Observed, rows: Map<string, Row>): string[] {
	const out: string[] = [];
	const starts = new Map<string, number[]>();
	for (const [id, name] of observed.accepted) {
		if (name !== EXCLUSIVE.name && name !== RATED.name) continue;
		const row = rows.get(id);
		if (!row || !FINAL.has(row.status)) {
			out.push(`flow-limited ${name} ${id} lost: ${row?.status ?? "not recorded"}`);
			continue;
		}
		if (row.waiting !== null) out.push(`flow-limited ${name} ${id} is ${row.status} yet marked waiting (${row.waiting})`);
		const input = JSON.parse(row.payload) as { key: string; id: string };
		if (row.status === "SUCCESS" && !observed.flow.ran.has(input.id))
			out.push(`flow-limited ${name} ${id} is SUCCESS but never ran`);
		if (name === RATED.name && row.started_at !== null) starts.set(input.key, [...(starts.get(input.key) ?? []), row.started_at]);
	}
	for (const [key, most] of observed.flow.most) {
		if (most > EXCLUSIVE.limit)
			out.push(
				`concurrency: ${EXCLUSIVE.name} key ${key} had ${most} runs in flight, limit ${EXCLUSIVE.limit} (in flight: ${observed.flow.over.join("; ")})`,
			);
	}
	const period = RATED.periodSeconds * 1000;
	for (const [key, list] of starts) {
		list.sort((a, b) => a - b);
		for (let i = RATED.limit; i < list.length; i++) {
			const first = list[i - RATED.limit] as number;
			if ((list[i] as number) - first < period) {
				out.push(
					`rate: ${RATED.name} key ${key} started ${RATED.limit + 1} runs within ${(list[i] as number) - first} ms, limit ${RATED.limit} per ${period} ms`,
				);
			}
		}
	}
	return out;
}
