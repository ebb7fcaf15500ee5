// The overview: what is waiting, running and failing, and how fast the queue
// drains. One D1 batch (src/tasks/stats.ts) plus the latest failures.
import { Hono } from "hono/tiny";
import * as z from "zod";
import { type Backlog, errorMessage, type Overview, RANGES, type Range } from "../engine";
import { AppError } from "../errors";
import type { AppEnv } from "../http/app-env";

import { FailureRateChart, failureRate, formatRate, ThroughputChart } from "./chart";
import { displayName, formatCount, formatDuration, StateBadge, Time } from "./format";
import { Layout } from "./layout";
import { RefreshToggle } from "./refresh";
import { NumCell, TableHead } from "./table";

const periods: Record<Range, string> = { "1h": "last hour", "24h": "last 24 hours" };

const rangeSchema = z.enum(Object.keys(RANGES) as [Range, ...Range[]]);

const tasksHref = (query: Record<string, string>) => `/dashboard/tasks?${new URLSearchParams(query)}`;

const Cards = ({ data, backlog }: { data: Overview; backlog: Backlog | null }) => {
	const hourRate = failureRate({
		succeeded: data.states.find((s) => s.state === "SUCCESS")?.hour ?? 0,
		failed: data.states.find((s) => s.state === "FAILURE")?.hour ?? 0,
	});
	return (
		<dl class="cards">
			<div class="card">
				<dt>Waiting (PENDING)</dt>
				<dd>{formatCount(data.unfinished.PENDING)}</dd>
			</div>
			<div class="card">
				<dt>Running (STARTED)</dt>
				<dd>{formatCount(data.unfinished.STARTED)}</dd>
			</div>
			<div class="card">
				<dt>Waiting to retry (RETRY)</dt>
				<dd>{formatCount(data.unfinished.RETRY)}</dd>
			</div>
			<div class="card">
				<dt>On the queue</dt>
				<dd>
					{backlog ? formatCount(backlog.messages) : "unknown"}
					{backlog?.oldestSentAt ? (
						<small class="muted">oldest sent {formatDuration(data.now.getTime() - backlog.oldestSentAt.getTime())} ago</small>
					) : null}
				</dd>
			</div>
			<div class="card">
				<dt>Oldest due task waiting</dt>
				<dd>
					{data.oldestDue ? (
						<>
							<a href={`/dashboard/tasks/${data.oldestDue.id}`}>
								{formatDuration(data.now.getTime() - data.oldestDue.dueAt.getTime())}
							</a>
							<small class="muted">{data.oldestDue.name}</small>
						</>
					) : (
						"none"
					)}
				</dd>
			</div>
			<div class="card">
				<dt>Failure rate, last hour</dt>
				<dd>{formatRate(hourRate)}</dd>
			</div>
		</dl>
	);
};

const Throughput = ({ data }: { data: Overview }) => (
	<section aria-labelledby="throughput-heading">
		<h2 id="throughput-heading">Throughput and failures</h2>
		<ul class="ranges" aria-label="Chart range">
			{(Object.keys(RANGES) as Range[]).map((range) => (
				<li>
					<a href={`/dashboard?range=${range}`} aria-current={range === data.range ? "true" : undefined}>
						{periods[range].replace(/^l/, "L")}
					</a>
				</li>
			))}
		</ul>
		<ThroughputChart buckets={data.buckets} period={periods[data.range]} />
		<ul class="legend">
			<li>
				<span class="swatch ok" />
				Succeeded
			</li>
			<li>
				<span class="swatch fail" />
				Failed
			</li>
			<li>
				<span class="swatch queue" />
				Enqueued
			</li>
		</ul>
		<FailureRateChart buckets={data.buckets} period={periods[data.range]} />
		<details>
			<summary>The numbers behind the charts</summary>
			<div class="table-wrap">
				<table>
					<TableHead
						columns={["From", ...["Enqueued", "Succeeded", "Failed", "Failure rate"].map((label) => ({ label, num: true }))]}
					/>
					<tbody>
						{data.buckets
							.filter((b) => b.enqueued + b.succeeded + b.failed > 0)
							.map((b) => (
								<tr>
									<td>
										<Time value={b.start} />
									</td>
									<NumCell value={b.enqueued} />
									<NumCell value={b.succeeded} />
									<NumCell value={b.failed} />
									<NumCell value={formatRate(failureRate(b))} />
								</tr>
							))}
					</tbody>
				</table>
			</div>
		</details>
	</section>
);

const Counts = ({ data }: { data: Overview }) => (
	<section aria-labelledby="counts-heading">
		<h2 id="counts-heading">Tasks created recently</h2>
		<div class="table-wrap">
			<table>
				<caption>By current state</caption>
				<TableHead columns={["State", { label: "Last hour", num: true }, { label: "Last 24 hours", num: true }]} />
				<tbody>
					{data.states.map((row) => (
						<tr>
							<th scope="row">
								<a href={tasksHref({ status: row.state })}>
									<StateBadge state={row.state} />
								</a>
							</th>
							<NumCell value={row.hour} />
							<NumCell value={row.day} />
						</tr>
					))}
				</tbody>
			</table>
		</div>
		<div class="table-wrap">
			<table>
				<caption>By task</caption>
				<TableHead
					columns={[
						"Task",
						...["Last hour", "Failed"].map((label) => ({ label, num: true })),
						...["Last 24 hours", "Failed"].map((label) => ({ label, num: true, wide: true })),
					]}
				/>
				<tbody>
					{data.names.length === 0 && (
						<tr>
							<td colspan={5}>No tasks in the last 24 hours.</td>
						</tr>
					)}
					{data.names.map((row) => (
						<tr>
							<th scope="row">
								<a href={tasksHref({ name: row.name })}>{row.name}</a>
							</th>
							<NumCell value={row.hour} />
							<NumCell value={row.failedHour} />
							<NumCell value={row.day} wide />
							<NumCell value={row.failedDay} wide />
						</tr>
					))}
				</tbody>
			</table>
		</div>
	</section>
);

const RecentFailures = ({ data }: { data: Overview }) => (
	<section aria-labelledby="failures-heading">
		<h2 id="failures-heading">Recent failures</h2>
		{data.recentFailures.length === 0 ? (
			<p>No failed tasks.</p>
		) : (
			<div class="table-wrap">
				<table>
					<TableHead columns={["Task", "Error", { label: "Created", wide: true }]} />
					<tbody>
						{data.recentFailures.map((task) => (
							<tr>
								<td>
									<a href={`/dashboard/tasks/${task.id}`}>{displayName(task)}</a>
								</td>
								<td class="error">{task.error}</td>
								<td class="hide-narrow">
									<Time value={task.createdAt} />
								</td>
							</tr>
						))}
					</tbody>
				</table>
				<p>
					<a href={tasksHref({ status: "FAILURE" })}>All failed tasks</a>
				</p>
			</div>
		)}
	</section>
);

export const overview = new Hono<AppEnv>();

overview.get("/", async (c) => {
	const parsed = rangeSchema.safeParse(c.req.query("range") ?? "1h");
	if (!parsed.success) {
		throw new AppError(400, "validation_error", "Unknown chart range", [{ path: "range", message: "must be 1h or 24h" }]);
	}
	const { ctx } = c.var;
	const [data, backlog] = await Promise.all([
		ctx.tasks.overview(parsed.data),
		// Tasks that run now have no row until a consumer claims them: the queue
		// itself is the backlog signal. The page still renders without it.
		ctx.tasks.backlog().catch((err: unknown) => {
			ctx.log.warn("queue metrics unavailable", { error: errorMessage(err) });
			return null;
		}),
	]);
	return c.html(
		<Layout title="Overview" section="overview">
			<div class="toolbar">
				<h1>Overview</h1>
				<RefreshToggle />
			</div>
			<div id="live">
				<p class="muted">
					As of <Time value={data.now} />
				</p>
				<Cards data={data} backlog={backlog} />
				<Throughput data={data} />
				<Counts data={data} />
				<RecentFailures data={data} />
			</div>
		</Layout>,
	);
});
