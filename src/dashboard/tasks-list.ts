// The task list: filter by state, task name and creation time, newest first,
// a page at a time. Served by the same engine call as GET /tasks, so the
// same keyset cursor pages through it.
import { html } from "hono/html";
import { Hono } from "hono/tiny";
import * as z from "zod";
import { TASK_STATES, type TaskFilter, type TaskRow } from "../engine";
import { AppError } from "../errors";
import type { AppEnv } from "../http/app-env";
import { displayName, stateBadge, timeElement } from "./format";
import { layout } from "./layout";
import { toolbar } from "./refresh";
import { numCell, tableHead } from "./table";

const PAGE_SIZE = 25;

// <input type="datetime-local"> sends "2026-11-24T09:30" (seconds optional); the page labels it UTC.
const utcMinute = z
	.string()
	.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/, { error: "must be a date and time such as 2026-11-24T09:30" })
	.transform((v) => new Date(`${v}Z`))
	.refine((d) => !Number.isNaN(d.getTime()), { error: "is not a valid date" });

const filterSchema = z.object({
	status: z.enum(TASK_STATES, { error: "must be one of the task states" }).optional(),
	name: z.string().max(200).optional(),
	from: utcMinute.optional(),
	to: utcMinute.optional(),
	cursor: z.string().max(200).optional(),
});

type Filters = z.infer<typeof filterSchema>;

/** The filter form's values, back in the shape the inputs take. */
const inputValue = (date: Date | undefined) => date?.toISOString().slice(0, 16) ?? "";

function queryOf(filters: Filters, cursor?: string): string {
	const entries = {
		status: filters.status,
		name: filters.name,
		from: inputValue(filters.from),
		to: inputValue(filters.to),
		cursor,
	};
	const query = new URLSearchParams(Object.entries(entries).filter((e): e is [string, string] => Boolean(e[1])));
	return query.size ? `?${query}` : "";
}

interface SelectProps {
	id: string;
	name: string;
	label: string;
	/** The first option's label; its value is empty, meaning no filter. */
	any: string;
	options: readonly string[];
	selected: string | undefined;
}

const selectField = ({ id, name, label, any, options, selected }: SelectProps) => html`<div class="field">
	<label for="${id}">${label}</label><select id="${id}" name="${name}">
		<option value="">${any}</option>
		${options.map((option) => html`<option value="${option}"${selected === option && html` selected`}>${option}</option>`)}
	</select>
</div>`;

const dateField = (id: string, name: string, label: string, value: Date | undefined) => html`<div class="field">
	<label for="${id}">${label}</label><input id="${id}" name="${name}" type="datetime-local" value="${inputValue(value)}">
</div>`;

function filterForm(filters: Filters, names: readonly string[]) {
	return html`<form class="filters" method="get" action="/dashboard/tasks" aria-label="Filter tasks">
		${selectField({ id: "f-status", name: "status", label: "State", any: "Any state", options: TASK_STATES, selected: filters.status })}
		${selectField({ id: "f-name", name: "name", label: "Task", any: "Any task", options: names, selected: filters.name })}
		${dateField("f-from", "from", "Created from (UTC)", filters.from)}
		${dateField("f-to", "to", "Created until (UTC)", filters.to)}
		<div class="field"><button type="submit" class="primary">Apply filters</button></div>
		<div class="field"><a class="button" href="/dashboard/tasks">Clear</a></div>
	</form>`;
}

const row = (task: TaskRow) => html`<tr>
	<td><a href="/dashboard/tasks/${task.id}">${displayName(task)}</a><br><code class="muted">${task.id.slice(0, 8)}</code></td>
	<td>${stateBadge(task.status)}</td>
	<td>${timeElement(task.createdAt)}</td>
	${numCell(task.attempts, true)}
</tr>`;

const table = (tasks: TaskRow[]) => html`<div class="table-wrap">
	<table>
		<caption class="visually-hidden">Tasks, newest first</caption>
		${tableHead(["Task", "State", "Created", { label: "Attempts", num: true, wide: true }])}
		<tbody>${tasks.map(row)}</tbody>
	</table>
</div>`;

export const tasksList = new Hono<AppEnv>();

tasksList.get("/", async (c) => {
	// An empty field in the GET form means "any".
	const query = Object.fromEntries(Object.entries(c.req.query()).filter(([, v]) => v !== ""));
	const parsed = filterSchema.safeParse(query);
	if (!parsed.success) {
		const details = parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
		throw new AppError(400, "validation_error", "The filters are not valid", details);
	}
	const filters = parsed.data;
	const filter: TaskFilter = {
		status: filters.status,
		name: filters.name,
		createdAfter: filters.from,
		createdBefore: filters.to,
		limit: PAGE_SIZE,
		cursor: filters.cursor,
	};
	const page = await c.get("ctx").tasks.list(filter);
	const newest = filters.cursor && html`<a href="/dashboard/tasks${queryOf(filters)}">Newest</a>`;
	const older =
		page.nextCursor && html`<a href="/dashboard/tasks${queryOf(filters, page.nextCursor)}" rel="next">Older tasks</a>`;
	return c.html(
		layout(
			{ title: "Tasks", section: "tasks" },
			html`${toolbar("Tasks")}
			${filterForm(filters, c.get("ctx").tasks.names)}
			<div id="live">${page.tasks.length === 0 ? html`<p>No tasks match these filters.</p>` : table(page.tasks)}</div>
			<nav class="pager" aria-label="Pages">${newest}${older}</nav>`,
		),
	);
});
