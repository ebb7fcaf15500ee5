// Inline SVG charts drawn on the server from the overview's buckets: no chart
// library, no script. Colours come from the stylesheet (classes, not style
// attributes, which the CSP forbids); each chart has a title and a summary for
// screen readers, and the numbers are also in a table below it.
import { html } from "hono/html";
import type { Bucket } from "../engine";
import { formatCount, formatTime } from "./format";
import type { Html } from "./layout";

const W = 960;
const LEFT = 80;
const RIGHT = 8;
const TOP = 22;
const BOTTOM = 24;

/** 2, 4, 6, 8, 10, 20, 40, 60, ... at least `n`: round numbers on the axis, with a whole number halfway. */
function niceCeiling(n: number): number {
	const power = 10 ** Math.floor(Math.log10(Math.max(2, n)));
	const step = [1, 2, 4, 6, 8, 10].find((s) => s * power >= Math.max(2, n)) ?? 10;
	return step * power;
}

const hhmm = (date: Date) => date.toISOString().slice(11, 16);
const round1 = (n: number) => Math.round(n * 10) / 10;

interface FrameProps {
	id: string;
	height: number;
	max: number;
	label: (value: number) => string;
	buckets: Bucket[];
	title: string;
	summary: string;
}

/** Axes, grid lines and time labels shared by both charts, around the chart's own shapes. */
function frame({ id, height, max, label, buckets, title, summary }: FrameProps, shapes: Html) {
	const plotH = height - TOP - BOTTOM;
	const ticks = [0, max / 2, max];
	const first = buckets[0];
	const middle = buckets[Math.floor(buckets.length / 2)];
	const last = buckets.at(-1);
	const grid = ticks.map((tick) => {
		const y = round1(TOP + plotH - (tick / max) * plotH);
		return html`<line class="grid" x1="${LEFT}" x2="${W - RIGHT}" y1="${y}" y2="${y}"></line>
		<text x="${LEFT - 6}" y="${y + 4}" text-anchor="end">${label(tick)}</text>`;
	});
	return html`<svg class="chart" viewBox="0 0 ${W} ${height}" role="img" aria-labelledby="${id}-title ${id}-desc">
		<title id="${id}-title">${title}</title>
		<desc id="${id}-desc">${summary}</desc>
		${grid}
		${shapes}
		${first && html`<text x="${LEFT}" y="${height - 6}">${hhmm(first.start)}</text>`}
		${middle && html`<text x="${LEFT + (W - LEFT - RIGHT) / 2}" y="${height - 6}" text-anchor="middle">${hhmm(middle.start)}</text>`}
		${last && html`<text x="${W - RIGHT}" y="${height - 6}" text-anchor="end">${hhmm(last.start)} UTC</text>`}
	</svg>`;
}

const slotWidth = (buckets: Bucket[]) => (W - LEFT - RIGHT) / Math.max(1, buckets.length);

export function throughputChart(buckets: Bucket[], period: string) {
	const height = 240;
	const plotH = height - TOP - BOTTOM;
	const max = niceCeiling(Math.max(1, ...buckets.map((b) => Math.max(b.succeeded + b.failed, b.enqueued))));
	const slot = slotWidth(buckets);
	const bar = Math.max(1, slot * 0.7);
	const h = (n: number) => round1((n / max) * plotH);
	const total = (key: "enqueued" | "succeeded" | "failed") => buckets.reduce((sum, b) => sum + b[key], 0);
	const line = buckets.map((b, i) => `${round1(LEFT + i * slot + slot / 2)},${round1(TOP + plotH - h(b.enqueued))}`).join(" ");
	const summary = `Over the ${period}: ${formatCount(total("enqueued"))} enqueued, ${formatCount(total("succeeded"))} succeeded, ${formatCount(total("failed"))} failed.`;
	const bars = buckets.map((b, i) => {
		const x = round1(LEFT + i * slot + (slot - bar) / 2);
		const base = TOP + plotH;
		return [
			b.succeeded > 0 &&
				html`<rect class="ok" x="${x}" width="${round1(bar)}" y="${round1(base - h(b.succeeded))}" height="${h(b.succeeded)}"></rect>`,
			b.failed > 0 &&
				html`<rect class="fail" x="${x}" width="${round1(bar)}" y="${round1(base - h(b.succeeded) - h(b.failed))}" height="${h(b.failed)}"></rect>`,
		];
	});
	const title = `Tasks enqueued and finished per ${bucketLabel(buckets)}`;
	return frame(
		{ id: "throughput", height, max, label: formatCount, buckets, title, summary },
		html`${bars}<polyline class="queue" points="${line}"></polyline>`,
	);
}

export const failureRate = (b: Pick<Bucket, "succeeded" | "failed">) =>
	b.succeeded + b.failed === 0 ? null : b.failed / (b.succeeded + b.failed);

export const formatRate = (rate: number | null) => (rate === null ? "–" : `${round1(rate * 100)}%`);

export function failureRateChart(buckets: Bucket[], period: string) {
	const height = 140;
	const plotH = height - TOP - BOTTOM;
	const slot = slotWidth(buckets);
	const bar = Math.max(1, slot * 0.7);
	const overall = failureRate({
		succeeded: buckets.reduce((sum, b) => sum + b.succeeded, 0),
		failed: buckets.reduce((sum, b) => sum + b.failed, 0),
	});
	const worst = buckets.reduce<Bucket | undefined>(
		(w, b) => ((failureRate(b) ?? 0) > (w ? (failureRate(w) ?? 0) : 0) ? b : w),
		undefined,
	);
	const summary =
		`Over the ${period}: ${formatRate(overall)} of finished tasks failed.` +
		(worst ? ` Highest: ${formatRate(failureRate(worst))} at ${formatTime(worst.start)}.` : "");
	const bars = buckets.map((b, i) => {
		const rate = failureRate(b);
		if (!rate) return null;
		const height = round1(rate * plotH);
		return html`<rect class="fail" x="${round1(LEFT + i * slot + (slot - bar) / 2)}" width="${round1(bar)}" y="${round1(TOP + plotH - height)}" height="${height}"></rect>`;
	});
	const label = (v: number) => `${Math.round(v * 100)}%`;
	const title = `Failure rate per ${bucketLabel(buckets)}`;
	return frame({ id: "failure-rate", height, max: 1, label, buckets, title, summary }, html`${bars}`);
}

function bucketLabel(buckets: Bucket[]): string {
	const [a, b] = buckets;
	const minutes = a && b ? (b.start.getTime() - a.start.getTime()) / 60_000 : 1;
	return minutes === 1 ? "minute" : `${minutes} minutes`;
}
