// Table pieces the pages share: a header row from column names, and number
// cells aligned for comparison.
import { html } from "hono/html";
import { formatCount } from "./format";

export interface Column {
	label: string;
	/** Right-aligned, tabular figures. */
	num?: boolean;
	/** Left out on phone-width screens. */
	wide?: boolean;
}

function headerCell(column: string | Column) {
	const c = typeof column === "string" ? { label: column } : column;
	const classes = [c.num && "num", c.wide && "hide-narrow"].filter(Boolean).join(" ");
	return html`<th scope="col"${classes && html` class="${classes}"`}>${c.label}</th>`;
}

export const tableHead = (columns: (string | Column)[]) => html`<thead>
	<tr>${columns.map(headerCell)}</tr>
</thead>`;

export const numCell = (value: number | string, wide?: boolean) =>
	html`<td class="${wide ? "num hide-narrow" : "num"}">${typeof value === "number" ? formatCount(value) : value}</td>`;
