// The task list: filter by state, task name and creation time, newest first,
// a page at a time. Served by the same engine call as GET /tasks, so the
// same keyset cursor pages through it.
import { Hono } from "hono/tiny";
import * as z from "zod";
import { TASK_STATES, type TaskFilter } from "../engine";
import { AppError } from "../errors";
import type { AppEnv } from "../http/app-env";
import { displayName, StateBadge, Time } from "./format";
import { Layout } from "./layout";
import { RefreshToggle } from "./refresh";
import { NumCell, TableHead } from "./table";

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

const SelectField = ({ id, name, label, any, options, selected }: SelectProps) => (
	<div class="field">
		<label for={id}>{label}</label>
		<select id={id} name={name}>
			<option value="">{any}</option>
			{options.map((option) => (
				<option value={option} selected={selected === option}>
					{option}
				</option>
			))}
		</select>
	</div>
);

const FilterForm = ({ filters, names }: { filters: Filters; names: readonly string[] }) => (
	<form class="filters" method="get" action="/dashboard/tasks" aria-label="Filter tasks">
		<SelectField id="f-status" name="status" label="State" any="Any state" options={TASK_STATES} selected={filters.status} />
		<SelectField id="f-name" name="name" label="Task" any="Any task" options={names} selected={filters.name} />
		<div class="field">
			<label for="f-from">Created from (UTC)</label>
			<input id="f-from" name="from" type="datetime-local" value={inputValue(filters.from)} />
		</div>
		<div class="field">
			<label for="f-to">Created until (UTC)</label>
			<input id="f-to" name="to" type="datetime-local" value={inputValue(filters.to)} />
		</div>
		<div class="field">
			<button type="submit" class="primary">
				Apply filters
			</button>
		</div>
		<div class="field">
			<a class="button" href="/dashboard/tasks">
				Clear
			</a>
		</div>
	</form>
);

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
	const page = await c.var.ctx.tasks.list(filter);
	return c.html(
		<Layout title="Tasks" section="tasks">
			<div class="toolbar">
				<h1>Tasks</h1>
				<RefreshToggle />
			</div>
			<FilterForm filters={filters} names={c.var.ctx.tasks.names} />
			<div id="live">
				{page.tasks.length === 0 ? (
					<p>No tasks match these filters.</p>
				) : (
					<div class="table-wrap">
						<table>
							<caption class="visually-hidden">Tasks, newest first</caption>
							<TableHead columns={["Task", "State", "Created", { label: "Attempts", num: true, wide: true }]} />
							<tbody>
								{page.tasks.map((task) => (
									<tr>
										<td>
											<a href={`/dashboard/tasks/${task.id}`}>{displayName(task)}</a>
											<br />
											<code class="muted">{task.id.slice(0, 8)}</code>
										</td>
										<td>
											<StateBadge state={task.status} />
										</td>
										<td>
											<Time value={task.createdAt} />
										</td>
										<NumCell value={task.attempts} wide />
									</tr>
								))}
							</tbody>
						</table>
					</div>
				)}
			</div>
			<nav class="pager" aria-label="Pages">
				{filters.cursor && <a href={`/dashboard/tasks${queryOf(filters)}`}>Newest</a>}
				{page.nextCursor && (
					<a href={`/dashboard/tasks${queryOf(filters, page.nextCursor)}`} rel="next">
						Older tasks
					</a>
				)}
			</nav>
		</Layout>,
	);
});
