// The chaos run, in the spirit of FoundationDB's simulation tests: the real
// app (HTTP API, producer, consumer, recovery) on the real D1 and queue
// binding, driven by one seeded random source that decides the workload and
// every fault. The queue's delivery is simulated (which messages go together,
// when a batch is redelivered, what lands on the dead-letter queue), since
// that is where the platform's faults live. At the end the clock is moved on
// and recovery runs to quiescence; then the invariants are checked.
import { createExecutionContext, createMessageBatch, createScheduledController, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import { createApp } from "../../src/app";
import { createEngine } from "../../src/engine";
import { engineOptions } from "../../src/index";
import { DEFAULT_RATES, Faults, faultyD1, type Rates, seededRandom } from "./faults";
import { checkInvariants, type Observed } from "./invariants";
import { EXCLUSIVE, limitedTasks, newFlowTrack, RATED } from "./limited";

const TOKEN = "test-token-0123456789abcdef";
const DLQ = env.TASKS_DEAD_LETTER_QUEUE;
const QUEUE = "edge-tasks-dev";
/** wrangler.toml's max_retries for the development queue. */
const MAX_DELIVERIES = 10;
const DEAD_LEASE_TICKS = 10;
/** wrangler.toml's max_batch_size for the development queue. */
const BATCH_SIZE = 44;

export interface ChaosOptions {
	seed: number;
	tasks: number;
	rates?: Partial<Rates>;
}

interface QueuedMessage {
	id: string;
	body: unknown;
	attempts: number;
	readyAt: number;
	sentAt: number;
	queue: string;
}

export async function simulate(options: ChaosOptions) {
	const started = Date.now();
	const random = seededRandom(options.seed);
	const faults = new Faults(random, { ...DEFAULT_RATES, ...options.rates });
	const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
	const state = { dead: false, consuming: false };
	let tick = 0;
	const queued: QueuedMessage[] = [];
	const observed: Observed = {
		accepted: new Map(),
		replays: [],
		sends: new Map(),
		explained: new Map(),
		apiErrors: [],
		workflows: new Map(),
		released: new Set(),
		messages: new Map(),
		due: new Map(),
		flow: newFlowTrack(),
	};
	// How far the quiescence below has moved D1's clock back: a message's
	// "now" in the tasks' own time is Date.now() + clockShift.
	let clockShift = 0;
	const explain = (taskId: string, cause: string) => {
		observed.explained.set(taskId, [...(observed.explained.get(taskId) ?? []), cause]);
	};

	const enqueueMessage = (body: unknown, delaySeconds = 0, queue = QUEUE) => {
		const taskId = (body as { id?: string }).id ?? "";
		observed.messages.set(taskId, [...(observed.messages.get(taskId) ?? []), Date.now() + clockShift + delaySeconds * 1000]);
		queued.push({
			id: crypto.randomUUID(),
			body,
			attempts: 1,
			readyAt: tick + (delaySeconds > 0 ? 1 + Math.floor(random() * 20) : 0),
			sentAt: Date.now(),
			queue,
		});
	};

	// The queue binding: the real one, which may refuse; what it accepts is
	// also kept here, for the simulated delivery.
	const real = env.ENGINE_TEST_QUEUE;
	const taskQueue = {
		async send(body: unknown, opts?: QueueSendOptions) {
			if (faults.strike("queueSendFails", "send")) throw new Error("Queue send failed: injected");
			await real.send(body, opts);
			enqueueMessage(body, opts?.delaySeconds);
		},
		async sendBatch(messages: Iterable<MessageSendRequest>, opts?: QueueSendBatchOptions) {
			if (faults.strike("queueSendFails", "sendBatch")) throw new Error("Queue sendBatch failed: injected");
			const list = [...messages];
			await real.sendBatch(list, opts);
			for (const m of list) enqueueMessage(m.body, m.delaySeconds ?? opts?.delaySeconds);
		},
		metrics: () => real.metrics(),
	} as unknown as Queue;

	// A consumer that died leaves its runs STARTED until their leases end, and
	// with them their concurrency slots: on the platform, a timeout later. The
	// simulation's clock is its ticks, not the wall clock leases count in, so a
	// dead consumer's leases end DEAD_LEASE_TICKS ticks on.
	const deadLeases: { ids: string[]; at: number }[] = [];
	let batchTasks: string[] = [];
	let nestedCopy: ((taskId: string) => Promise<void>) | undefined;
	// The send_email binding's stand-in: counts each accepted message by its
	// task (X-Task-Id), and is where the consumer dies and runs outlive leases.
	const mailer = {
		async send(message: EmailMessage) {
			if (state.dead) throw new Error("the Worker died");
			const raw = String((message as unknown as Record<string, unknown>)["EmailMessage::raw"] ?? "");
			const taskId = /^X-Task-Id: (\S+)/m.exec(raw)?.[1] ?? "unknown";
			if (faults.strike("mailerThrows", taskId)) throw new Error("SMTP 451: injected");
			observed.sends.set(taskId, [...(observed.sends.get(taskId) ?? []), Date.now()]);
			batchTasks.push(taskId);
			if (nestedCopy && faults.strike("leaseOutlived", taskId)) {
				explain(taskId, "a run outlived its lease");
				await nestedCopy(taskId);
			}
			if (state.consuming && faults.strike("consumerDies", taskId)) {
				state.dead = true;
				for (const id of batchTasks) explain(id, "the consumer died before the record");
				throw new Error("the Worker died");
			}
			return { messageId: `<${crypto.randomUUID()}@chaos>` };
		},
	};

	const chaosEnv: Env = {
		...env,
		DB: faultyD1(env.DB, faults, state),
		TASKS: taskQueue,
		MAILER: mailer as unknown as SendEmail,
		// The rate limiter is not under test: it always admits.
		ENQUEUE_LIMITER: { limit: async () => ({ success: true }) },
	};
	// The app's tasks and two flow-limited stand-ins (test/chaos/limited.ts), kept by the real FlowControl object.
	const limited = limitedTasks(observed.flow);
	const engine = createEngine({ ...engineOptions, tasks: [...engineOptions.tasks, limited.exclusive, limited.rated] });
	const client = engine.context(chaosEnv).tasks;
	const app = createApp(engine.context);
	// The engine's pauses between tries of a failed write pass at once: the
	// simulation compresses time, it does not wait it out.
	vi.spyOn(scheduler, "wait").mockResolvedValue(undefined);

	async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
		const res = await app.request(
			path,
			{
				method,
				headers: { Authorization: `Bearer ${TOKEN}`, ...(body ? { "content-type": "application/json" } : {}), ...headers },
				...(body ? { body: JSON.stringify(body) } : {}),
			},
			chaosEnv,
			createExecutionContext(),
		);
		const text = await res.text();
		if (res.status >= 500 && res.status !== 503) observed.apiErrors.push(`${method} ${path}: ${res.status} ${text}`);
		return { status: res.status, json: (text ? JSON.parse(text) : null) as Record<string, unknown> | null };
	}

	// The workload's users, written directly: they are not under test.
	const userIds: number[] = [];
	for (let i = 0; i < Math.max(10, options.tasks / 10); i += 50) {
		const rows = Array.from({ length: 50 }, () => `chaos-${options.seed}-${crypto.randomUUID()}@example.com`);
		const inserted = await env.DB.prepare("INSERT INTO users (email) SELECT value FROM json_each(?) RETURNING id")
			.bind(JSON.stringify(rows))
			.all<{ id: number }>();
		userIds.push(...inserted.results.map((r) => r.id));
	}

	const accept = (ids: string[], name: string) => {
		for (const id of ids) observed.accepted.set(id, name);
	};
	const acceptWorkflow = (a: { status: number; json: Record<string, unknown> | null }, kind: string, names: string[]) => {
		const ids = a.json?.task_ids;
		const id = a.json?.workflow_id;
		if (a.status !== 202 || !Array.isArray(ids) || typeof id !== "string") return;
		ids.forEach((taskId, i) => {
			accept([String(taskId)], names[i] ?? "workflow step");
		});
		observed.workflows.set(id, { kind, taskIds: ids.map(String) });
	};
	const email = () => ({ email: `user${Math.floor(random() * 1000)}@example.com`, subject: "Chaos", body: "Hello" });

	async function request() {
		if (random() < 0.06) {
			// A burst of a flow-limited stand-in with one key, enqueued as the app would (so one
			// batch often holds more than the limit); an enqueue the queue refused is not accepted.
			const rated = random() < 0.4;
			const key = rated ? pick(RATED.keys) : pick(EXCLUSIVE.keys);
			const burst = Array.from({ length: 1 + Math.floor(random() * 5) }, () => ({ key, id: crypto.randomUUID() }));
			const enqueued = await Promise.all(
				burst.map((input) =>
					(rated ? client.enqueue(limited.rated, input) : client.enqueue(limited.exclusive, input)).catch(() => undefined),
				),
			);
			for (const e of enqueued) if (e && !e.replayed) accept([e.id], rated ? RATED.name : EXCLUSIVE.name);
			return;
		}
		const roll = random();
		if (roll < 0.35) {
			// Some a minute to an hour ahead; some further than a queue can delay a message (12 to 36 hours).
			const far = random() < 0.05;
			const delayed =
				far || random() < 0.1
					? { delay_seconds: far ? 43_201 + Math.floor(random() * 86_400) : 60 + Math.floor(random() * 3600) }
					: {};
			const keyed = random() < 0.2 ? crypto.randomUUID() : undefined;
			const body = { ...email(), ...delayed };
			const headers: Record<string, string> = keyed ? { "Idempotency-Key": keyed } : {};
			// A keyed request sometimes arrives twice at once, as a client's retry after a timeout would.
			const copies = keyed && random() < 0.5 ? 2 : 1;
			const answers = await Promise.all(Array.from({ length: copies }, () => api("POST", "/send-email", body, headers)));
			for (const a of answers) {
				const id = a.json?.task_id;
				if (typeof id !== "string") continue;
				if (a.status === 202) accept([id], "send_email");
				if (a.status === 202 && far) {
					observed.released.add(id);
					observed.due.set(id, Date.now() + clockShift + (delayed.delay_seconds ?? 0) * 1000);
				}
				if (a.status === 200) observed.replays.push(id);
			}
		} else if (roll < 0.57) {
			const a = await api("POST", `/process-user/${pick(userIds)}`);
			if (a.status === 202 && typeof a.json?.task_id === "string") accept([a.json.task_id], "process_user_data");
		} else if (roll < 0.61) {
			// A chain: a user processed, then an email whose body is that result.
			const a = await api("POST", "/workflows", {
				chain: [
					{ name: "process_user_data", input: { user_id: pick(userIds) } },
					{ name: "send_email", input: { recipient: email().email, subject: "Chain" }, result_as: "body" },
				],
			});
			acceptWorkflow(a, "chain", ["process_user_data", "send_email"]);
		} else if (roll < 0.65) {
			// A chord: users processed, then a report of their outcomes.
			const ids = Array.from({ length: 2 + Math.floor(random() * 10) }, () => pick(userIds));
			const a = await api("POST", "/process-users", {
				user_ids: ids,
				// biome-ignore lint/suspicious/noThenProperty: the API's field for a chord's callback
				then: { name: "send_report", input: { to: email().email } },
			});
			acceptWorkflow(a, "chord", [...ids.map(() => "process_user_data"), "send_report"]);
		} else if (roll < 0.68) {
			// The outbox: a user and its welcome email in one transaction.
			const a = await api("POST", "/users", { email: `chaos-${crypto.randomUUID()}@example.com`, welcome_email: true });
			const id = a.json?.welcome_task_id;
			if (a.status === 201 && typeof id === "string") {
				accept([id], "send_email");
				observed.released.add(id);
			}
		} else if (roll < 0.72) {
			const ids = Array.from({ length: 2 + Math.floor(random() * 20) }, () => pick(userIds));
			const a = await api("POST", "/process-users", { user_ids: ids });
			if (a.status === 202 && Array.isArray(a.json?.task_ids)) accept(a.json.task_ids as string[], "process_user_data");
		} else if (roll < 0.77) {
			const messages = Array.from({ length: 2 + Math.floor(random() * 10) }, () => email());
			const a = await api("POST", "/send-emails", { messages });
			if (a.status === 202 && Array.isArray(a.json?.task_ids)) accept(a.json.task_ids as string[], "send_email");
		} else if (roll < 0.9 && observed.accepted.size > 0) {
			// A revoke racing the consumer: it wins only while the task waits.
			await api("DELETE", `/tasks/${pick([...observed.accepted.keys()])}`);
		} else if (observed.accepted.size > 0) {
			const a = await api("POST", `/tasks/${pick([...observed.accepted.keys()])}/retry`);
			const id = a.json?.task_id;
			if (typeof id === "string" && a.status === 202) accept([id], "retry");
			if (typeof id === "string" && a.status === 200) observed.replays.push(id);
		}
	}

	async function deliver(messages: QueuedMessage[], queue: string, nested = false): Promise<void> {
		const batch = createMessageBatch(
			queue,
			messages.map((m) => ({ id: m.id, timestamp: new Date(m.sentAt), attempts: m.attempts, body: m.body })),
		);
		const ctx = createExecutionContext();
		const outer = { dead: state.dead, consuming: state.consuming, tasks: batchTasks };
		state.dead = false;
		state.consuming = true;
		batchTasks = [];
		nestedCopy = nested
			? undefined
			: async (taskId) => {
					const copy = messages.find((m) => (m.body as { id?: string }).id === taskId);
					if (!copy) return;
					await env.DB.prepare("UPDATE tasks SET lease_expires_at = 1 WHERE id = ?").bind(taskId).run();
					await deliver([{ ...copy, id: crypto.randomUUID() }], queue, true);
				};
		await engine.consume(batch, chaosEnv);
		const died = state.dead;
		Object.assign(state, { dead: outer.dead, consuming: outer.consuming });
		batchTasks = outer.tasks;
		const result = await getQueueResult(batch, ctx);
		const again = (m: QueuedMessage, delay: number) =>
			queued.push({ ...m, attempts: m.attempts + 1, readyAt: tick + 1 + Math.min(delay, 5) });
		if (died) {
			const ids = messages.flatMap((m) => (m.body as { id?: string }).id ?? []);
			deadLeases.push({ ids, at: tick + DEAD_LEASE_TICKS });
		}
		if (died || (!nested && faults.strike("batchRetried", `batch of ${messages.length}`))) {
			for (const m of messages) again(m, 1);
			return;
		}
		const retried = new Map(result.retryMessages.map((r) => [r.msgId, r.delaySeconds ?? 0]));
		for (const m of messages) if (retried.has(m.id)) again(m, retried.get(m.id) ?? 0);
	}

	async function maintenance(cron: string) {
		const controller = createScheduledController({ cron, scheduledTime: Date.now() + tick * 60_000 });
		// A trigger that could not enqueue (a fault struck) fails its invocation, as on the platform; the next one runs anew.
		await engine.scheduled(controller, chaosEnv).catch(() => undefined);
	}

	/** One step of the consumer: a batch of ready messages, with faults. */
	async function step() {
		tick++;
		for (const lease of deadLeases.filter((l) => l.at <= tick)) {
			deadLeases.splice(deadLeases.indexOf(lease), 1);
			await env.DB.prepare(
				"UPDATE tasks SET lease_expires_at = 1 WHERE status = 'STARTED' AND id IN (SELECT value FROM json_each(?))",
			)
				.bind(JSON.stringify(lease.ids))
				.run();
		}
		const ready = queued.filter((m) => m.readyAt <= tick);
		const dead = ready.filter((m) => m.queue === QUEUE && (m.attempts > MAX_DELIVERIES || faults.strike("deadLettered", m.id)));
		for (const m of dead) Object.assign(m, { queue: DLQ, attempts: 1 });
		for (const queue of [QUEUE, DLQ]) {
			const batch = ready.filter((m) => m.queue === queue).slice(0, BATCH_SIZE);
			if (batch.length === 0) continue;
			for (const m of batch) queued.splice(queued.indexOf(m), 1);
			const extra = batch.filter((m) => faults.strike("duplicateInBatch", m.id)).map((m) => ({ ...m, id: crypto.randomUUID() }));
			for (const m of batch)
				if (faults.strike("duplicateLater", m.id)) queued.push({ ...m, id: crypto.randomUUID(), readyAt: tick + 3 });
			const races = faults.strike("maintenanceRaces", `tick ${tick}`)
				? [maintenance("* * * * *"), maintenance("*/5 * * * *"), maintenance("17 * * * *")]
				: [];
			await Promise.all([deliver([...batch, ...extra], queue), ...races]);
		}
	}

	// The workload: requests, with a consumer step every few of them.
	while (observed.accepted.size < options.tasks) {
		await request();
		if (random() < 0.3) await step();
	}
	while (queued.some((m) => m.readyAt <= tick + 1)) await step();

	// Quiescence: the clock moves on an hour at a time (leases expire, delays
	// come due, recovery's staleness passes), recovery runs, and every message
	// is delivered, until every accepted task is final or nothing moves.
	faults.rates = Object.fromEntries(Object.keys(faults.rates).map((k) => [k, 0])) as Rates;
	for (let round = 0; round < 60; round++) {
		const open = await env.DB.prepare(
			"SELECT count(*) AS n FROM tasks WHERE status NOT IN ('SUCCESS', 'FAILURE', 'REVOKED') AND id IN (SELECT value FROM json_each(?))",
		)
			.bind(JSON.stringify([...observed.accepted.keys()]))
			.first<{ n: number }>();
		if ((open?.n ?? 0) === 0 && queued.length === 0) break;
		await env.DB.prepare(
			`UPDATE tasks SET created_at = created_at - 3600000, updated_at = updated_at - 3600000, due_at = due_at - 3600000,
				next_attempt_at = next_attempt_at - 3600000, lease_expires_at = lease_expires_at - 3600000
			WHERE status NOT IN ('SUCCESS', 'FAILURE', 'REVOKED')`,
		).run();
		tick += 100;
		clockShift += 3_600_000;
		vi.spyOn(real, "metrics").mockResolvedValue({ backlogCount: 0, backlogBytes: 0 });
		await maintenance("* * * * *");
		await maintenance("*/5 * * * *");
		while (queued.length > 0) await step();
	}

	const violations = await checkInvariants(observed);
	return {
		seed: options.seed,
		tasks: observed.accepted.size,
		workflows: observed.workflows.size,
		released: observed.released.size,
		limited: {
			tasks: [...observed.accepted.values()].filter((n) => n === EXCLUSIVE.name || n === RATED.name).length,
			runs: [...observed.flow.ran.values()].reduce((n, r) => n + r, 0),
			mostInFlight: Object.fromEntries(observed.flow.most),
		},
		...violations,
		faults: faults.counts,
		faultLog: faults.log,
		ms: Date.now() - started,
	};
}
