// Small pieces every dashboard page shows the same way: times (UTC, with a
// machine-readable <time>), durations, state badges, counts, and payloads cut
// down to what fits on a page.
import { html } from "hono/html";
import { type Json, type TaskState, UNKNOWN_NAME } from "../engine";

/** 2026-11-24 12:00:05 UTC */
export function formatTime(date: Date): string {
	return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

export const timeElement = (value: Date) => html`<time datetime="${value.toISOString()}">${formatTime(value)}</time>`;

/** A duration for people: "4 s", "3 min 10 s", "2 h 5 min", "3 d 4 h". */
export function formatDuration(ms: number): string {
	const s = Math.max(0, Math.round(ms / 1000));
	if (s < 60) return `${s} s`;
	const [m, h, d] = [Math.floor(s / 60), Math.floor(s / 3600), Math.floor(s / 86_400)];
	if (s < 3600) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
	if (s < 86_400) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
	return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

export const formatCount = (n: number) => n.toLocaleString("en-US");

/** The state as a word with a colour; the word carries the meaning, the colour only helps. */
export const stateBadge = (state: TaskState) => html`<span class="badge state-${state.toLowerCase()}">${state}</span>`;

const BODY_CHARS = 200;
const STRING_CHARS = 500;

function cut(text: string, max: number): string {
	return text.length > max ? `${text.slice(0, max)}… (${formatCount(text.length - max)} more characters)` : text;
}

/** A payload for display: email bodies cut to 200 characters, any other string to 500. */
export function displayPayload(value: unknown, key?: string): Json {
	if (typeof value === "string") return cut(value, key === "body" ? BODY_CHARS : STRING_CHARS);
	if (Array.isArray(value)) return value.map((item) => displayPayload(item));
	if (value && typeof value === "object") {
		return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, displayPayload(v, k)]));
	}
	return (value ?? null) as Json;
}

/** A JSON value as indented text, for a <pre>. */
export const prettyJson = (value: unknown) => JSON.stringify(value ?? null, null, 2);

/** A revoke tombstone or a task still on the queue has no name until its message is seen. */
export const displayName = (task: { name: string }) => (task.name === UNKNOWN_NAME ? "(on the queue, not yet seen)" : task.name);
