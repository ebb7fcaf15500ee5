// Bench-only Worker entry: the real Worker, with two substitutions the
// benchmark switches on through vars, and probes for the cost of single calls.
//
// BENCH_LIMITER = "memory": the enqueue limiter counts in this isolate's
//   memory, fixed window per key, as production's rate-limiting binding counts
//   locally at each Cloudflare location. Miniflare emulates the binding with a
//   SQLite-backed Durable Object written on every call, which costs more than
//   the rest of the enqueue path together (the probe below shows how much).
// BENCH_LIMITS = "off": the same Worker built from the same tasks with their
//   flow limits (rateLimit, concurrencyLimit, debounce) removed, to show what
//   the FlowControl Durable Object costs the enqueue and drain figures.
// BENCH_COUNT_D1 = "1": each queue() invocation's D1 binding, task queue and
//   FLOW Durable Object namespace are wrapped by counters, and its messages'
//   acks and retries counted; GET /__bench/batches returns what each consumed
//   batch asked of D1, Queues and FlowControl. The same for each cron and each
//   request carrying an x-bench-count header (its value labels it): GET
//   /__bench/calls. The FlowControl objects count their own storage and alarms:
//   GET /__bench/flow-storage.
//
// GET /__bench/finished counts finished tasks; POST /__bench/succeeded counts
// SUCCESS among the posted ids, and says when the last of them finished. The benchmark asks these over HTTP, not
// through Miniflare's D1 proxy: that proxy blocks Node's main thread while it
// waits, and the local send_email binding needs that thread to write its .eml
// files, so under load the two waited on each other for ever.
//
// Steps of a request, for bench/cpu.ts: GET /__bench/nothing answers 204 at
//   once (workerd's HTTP handling and this entry, no Hono);
//   POST /__bench/engine/process-user/:id and /__bench/engine/send-email
//   enqueue through the engine's client alone, as the routes do but without the
//   HTTP layer (Hono, authentication, validation, the limiter).
// Probes (POST): /__bench/d1-insert (one INSERT), /__bench/queue-send (one
// message, acked unrun), /__bench/limiter (one call to the emulated limiter),
// /__bench/email-send (one email built and handed to send_email).
// Bare floor (POST /__bench/bare/process-user/:id, /__bench/bare/send-email):
//   what the local emulation allows any task queue built on these bindings.
//   Each answers as the real route does (202 and a task id minted the same
//   way) after one queue send: no idempotency key, no limiter. Its consumer
//   does the task's own work (the same UPDATE per batch, or each email built
//   and handed to send_email, as many at once as the engine sends) and writes every result as a
//   SUCCESS row, which GET /tasks/:id and the drains read; users and results
//   go in one D1 round trip. No claim, no effects record, no retries, no flow
//   control: the least a consumer that reports results must do.
// POST /__bench/expire-results and /__bench/recover-stuck-tasks run that
// built-in once, in this invocation, with the posted input (its defaults if
// none), and answer its result (bench/scale.ts times them).
import * as z from "zod";
import { createApp } from "../../src/app";
import { createEngine } from "../../src/engine";
import { expireResults, recoverStuckTasks } from "../../src/engine/builtins";
import { concurrencyFor, mapSettled, type TaskDefinition, type TaskRef } from "../../src/engine/define";
import { createScopes } from "../../src/engine/engine";
import type { Runtime } from "../../src/engine/runtime";
import worker, { engine, engineOptions } from "../../src/index";
import { createMailer } from "../../src/mail/mailer";
import { processUserData } from "../../src/tasks/process-user-data";
import { sendEmail } from "../../src/tasks/send-email";
import { flowStorage } from "./flow-counter";
import { type Counts, countedEnv, emptyCounts } from "./invocation-counts";
import { countingBatch } from "./queue-counter";

// wrangler.toml binds FLOW to this class: the bench entry must export it too
// (counting its storage when BENCH_COUNT_D1 is on).
export { CountingFlowControl as FlowControl } from "./flow-counter";

interface BenchVars {
	BENCH_LIMITER?: string;
	BENCH_LIMITS?: string;
	BENCH_COUNT_D1?: string;
}
type BenchEnv = Env & BenchVars;

interface BatchCounts extends Counts {
	queue: string;
	messages: number;
	/** Messages by task name. */
	tasks: Record<string, number>;
}

/** A counted request (labelled by its x-bench-count header) or cron. */
interface CallCounts extends Counts {
	label: string;
}

const batches: BatchCounts[] = [];
const calls: CallCounts[] = [];
const COUNT_HEADER = "x-bench-count";
const PROBE = "bench_probe";
const accepted = () => new Response(null, { status: 202 });

/** A fixed-window limiter in isolate memory, with the binding's interface. */
function memoryLimiter(limit: number, periodSeconds: number): RateLimit {
	const windows = new Map<string, { window: number; count: number }>();
	return {
		async limit({ key }) {
			const window = Math.floor(Date.now() / (periodSeconds * 1000));
			const current = windows.get(key);
			const count = current?.window === window ? current.count + 1 : 1;
			windows.set(key, { window, count });
			return { success: count <= limit };
		},
	};
}

// The Worker as src/index.ts composes it, from tasks without flow limits.
const unlimitedEngine = createEngine({
	...engineOptions,
	tasks: engineOptions.tasks.map((task) => ({ ...task, rateLimit: undefined, concurrencyLimit: undefined, debounce: undefined })),
});
const unlimited = { fetch: createApp(unlimitedEngine.context).fetch, queue: unlimitedEngine.consume };
const maintenance: Record<string, TaskDefinition<Runtime>> = {
	"/__bench/expire-results": expireResults,
	"/__bench/recover-stuck-tasks": recoverStuckTasks,
};
const scopes = createScopes(engineOptions);
async function runOnce(task: TaskDefinition<Runtime>, request: Request, env: Env) {
	const input = task.input.parse(JSON.parse((await request.text()) || "{}"));
	const info = { id: crypto.randomUUID(), name: task.name, attempt: 1, once: <T>(_: string, f: () => Promise<T>) => f() };
	return Response.json(await task.run(scopes.scopeOf(env).rt, input, info));
}
const BARE_USER = "bench_bare_process_user";
const BARE_EMAIL = "bench_bare_send_email";
const bareEmail = z.object({ email: z.string(), subject: z.string(), body: z.string() });
const bareMessage = z.discriminatedUnion("name", [
	z.object({ id: z.string(), name: z.literal(BARE_USER), input: z.object({ user_id: z.number() }) }),
	z.object({ id: z.string(), name: z.literal(BARE_EMAIL), input: bareEmail }),
]);

async function bareEnqueue(env: Env, name: string, input: unknown) {
	const id = await scopes.scopeOf(env).rt.ids.mint();
	await env.TASKS.send({ id, name, input });
	return Response.json({ task_id: id }, { status: 202 });
}

async function engineEnqueue<S extends z.ZodType>(env: BenchEnv, task: TaskRef<S>, input: z.input<S>) {
	const { id } = await engine.context(envFor(env)).tasks.enqueue(task, input);
	return Response.json({ task_id: id }, { status: 202 });
}

async function bareConsume(messages: readonly Message<unknown>[], env: Env) {
	const done: { id: string; name: string; payload: string; result: string }[] = [];
	const users: number[] = [];
	const emails: { id: string; to: string; subject: string; text: string }[] = [];
	for (const { body } of messages) {
		const message = bareMessage.parse(body);
		const { id, name } = message;
		const payload = JSON.stringify(message.input);
		if (message.name === BARE_USER) {
			users.push(message.input.user_id);
			done.push({ id, name, payload, result: JSON.stringify(`Processed user ${message.input.user_id}`) });
		} else {
			const { email, subject, body: text } = message.input;
			emails.push({ id, to: email, subject, text });
			done.push({ id, name, payload, result: JSON.stringify(`Email sent to ${email}`) });
		}
	}
	// As the engine runs send_email: its concurrency, a new send as soon as one ends.
	const mailer = createMailer(env.MAILER, env.MAIL_FROM);
	const sent = await mapSettled(emails, concurrencyFor(sendEmail, emails.length), (m) =>
		mailer.send({ ...m, messageId: `<task-${m.id}@bench.invalid>` }),
	);
	const failed = sent.find((s) => s.status === "rejected");
	if (failed) throw failed.reason;
	const now = Date.now();
	const statements = [
		env.DB.prepare(
			`INSERT INTO tasks (id, name, payload, status, result, attempts, created_at, started_at, finished_at, updated_at, due_at)
			SELECT value->>'id', value->>'name', value->>'payload', 'SUCCESS', value->>'result', 1, ?2, ?2, ?2, ?2, ?2 FROM json_each(?1)`,
		).bind(JSON.stringify(done), now),
	];
	if (users.length > 0) {
		statements.unshift(
			env.DB.prepare("UPDATE users SET processed = 1, updated_at = ?2 WHERE id IN (SELECT value FROM json_each(?1))").bind(
				JSON.stringify(users),
				now,
			),
		);
	}
	await env.DB.batch(statements);
	for (const message of messages) message.ack();
}

const workerFor = (env: BenchEnv) => (env.BENCH_LIMITS === "off" ? unlimited : worker);

// One substituted env per original, so the Worker's per-env caches still hit.
const substituted = new WeakMap<object, Env>();
function envFor(env: BenchEnv): Env {
	if (env.BENCH_LIMITER !== "memory") return env;
	let out = substituted.get(env);
	if (!out) {
		out = { ...env, ENQUEUE_LIMITER: memoryLimiter(1_000_000_000, 60) };
		substituted.set(env, out);
	}
	return out;
}

export default {
	async fetch(request, env, ctx) {
		const pathname = new URL(request.url).pathname;
		const builtin = maintenance[pathname];
		if (builtin) return runOnce(builtin, request, envFor(env));
		switch (pathname) {
			case "/__bench/batches":
				return Response.json(batches);
			case "/__bench/calls":
				return Response.json(calls);
			case "/__bench/nothing":
				return new Response(null, { status: 204 });
			case "/__bench/engine/send-email": {
				const { email, subject, body } = bareEmail.parse(await request.json());
				return engineEnqueue(env, sendEmail, { recipient: email, subject, body });
			}
			case "/__bench/flow-storage":
				return Response.json(flowStorage);
			case "/__bench/finished":
				return Response.json(
					await env.DB.prepare("SELECT count(*) AS n FROM tasks WHERE status IN ('SUCCESS', 'FAILURE', 'REVOKED')").first(),
				);
			case "/__bench/succeeded":
				return Response.json(
					await env.DB.prepare(
						"SELECT count(*) AS n, max(finished_at) AS last FROM tasks WHERE status = 'SUCCESS' AND id IN (SELECT value FROM json_each(?))",
					)
						.bind(await request.text())
						.first(),
				);
			case "/__bench/d1-insert":
				await env.DB.prepare(
					"INSERT INTO tasks (id, name, payload, status, created_at, updated_at, due_at) VALUES (?1, ?2, '{}', 'PENDING', ?3, ?3, ?3)",
				)
					.bind(crypto.randomUUID(), PROBE, Date.now())
					.run();
				return accepted();
			case "/__bench/queue-send":
				await env.TASKS.send({ id: crypto.randomUUID(), name: PROBE, input: null });
				return accepted();
			case "/__bench/limiter":
				await env.ENQUEUE_LIMITER.limit({ key: "probe" });
				return accepted();
			case "/__bench/bare/send-email": {
				return bareEnqueue(env, BARE_EMAIL, bareEmail.parse(await request.json()));
			}
			case "/__bench/email-send":
				await createMailer(env.MAILER, env.MAIL_FROM).send({
					to: "probe@example.com",
					subject: "Probe",
					text: "One email, as send_email sends it.",
					messageId: `<probe-${crypto.randomUUID()}@example.com>`,
				});
				return accepted();
			default: {
				const engineUser = /^\/__bench\/engine\/process-user\/(\d+)$/.exec(pathname);
				if (engineUser) return engineEnqueue(env, processUserData, { user_id: Number(engineUser[1]) });
				const bareUser = /^\/__bench\/bare\/process-user\/(\d+)$/.exec(pathname);
				if (bareUser) return bareEnqueue(env, BARE_USER, { user_id: Number(bareUser[1]) });
				const label = env.BENCH_COUNT_D1 === "1" ? request.headers.get(COUNT_HEADER) : null;
				if (label === null) return workerFor(env).fetch(request, envFor(env), ctx);
				const counts: CallCounts = { label, ...emptyCounts() };
				calls.push(counts);
				return workerFor(env).fetch(request, countedEnv(envFor(env), counts), ctx);
			}
		}
	},
	async queue(batch, env) {
		const nameOf = (m: Message<unknown>) => (m.body as { name?: unknown } | null)?.name;
		const probes = batch.messages.filter((m) => nameOf(m) === PROBE);
		for (const message of probes) message.ack();
		const bare = batch.messages.filter((m) => nameOf(m) === BARE_USER || nameOf(m) === BARE_EMAIL);
		if (bare.length > 0) await bareConsume(bare, env);
		if (probes.length + bare.length === batch.messages.length) return;
		if (env.BENCH_COUNT_D1 !== "1") return workerFor(env).queue(batch, envFor(env));
		const tasks: Record<string, number> = {};
		for (const { body } of batch.messages) {
			const name = String((body as { name?: unknown } | null)?.name);
			tasks[name] = (tasks[name] ?? 0) + 1;
		}
		const counts: BatchCounts = { queue: batch.queue, messages: batch.messages.length, tasks, ...emptyCounts() };
		batches.push(counts);
		await workerFor(env).queue(countingBatch(batch, counts), countedEnv(envFor(env), counts));
	},
	async scheduled(controller, env) {
		if (env.BENCH_COUNT_D1 !== "1") return worker.scheduled(controller, envFor(env));
		const counts: CallCounts = { label: `cron ${controller.cron}`, ...emptyCounts() };
		calls.push(counts);
		await worker.scheduled(controller, countedEnv(envFor(env), counts));
	},
} satisfies ExportedHandler<BenchEnv, unknown>;
