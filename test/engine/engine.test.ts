// The engine's public API with stand-in tasks: createEngine registers the
// app's tasks beside its built-ins, enqueues through the real queue, runs a
// delivered batch with the app's context, and says what went wrong with
// domain errors, not HTTP statuses.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import * as z from "zod";
import {
	createEngine,
	defineTask,
	IllegalTransitionError,
	InputTooLargeError,
	InvalidInputError,
	type Logger,
	limits,
	type TaskClient,
	TaskNotFoundError,
	taskDefiner,
	UnknownTaskError,
} from "../../src/engine";
import { deliverBatch, row } from "./harness";

afterEach(() => vi.restoreAllMocks());

/** The stand-in app's context: what its tasks receive. */
interface Ctx {
	tasks: TaskClient;
	log: Logger;
	greeting: string;
}

const define = taskDefiner<Ctx>();
const greet = define({
	name: "greet",
	input: z.object({ who: z.string().min(1) }).strict(),
	async run(ctx, { who }) {
		return `${ctx.greeting}, ${who}`;
	},
});
const unregistered = defineTask({ name: "nowhere", input: z.object({}), run: async () => null });

const engine = createEngine<Cloudflare.Env, Ctx>({
	tasks: [greet],
	schedules: [],
	bindings: (e) => ({ db: e.DB, queue: e.ENGINE_TEST_QUEUE, vars: e }),
	context: (_env, { tasks, log }) => ({ tasks, log, greeting: "Hello" }),
});
const client = () => engine.context(env).tasks;

describe("createEngine", () => {
	it("registers the app's tasks and its own maintenance tasks, and schedules the latter", () => {
		expect(engine.names).toEqual(["greet", "expire_results", "recover_stuck_tasks", "deliver_webhook", "release_due_tasks"]);
		expect(engine.schedules.map((s) => [s.name, s.cron])).toEqual([
			["release-due-tasks", "* * * * *"],
			["recover-stuck-tasks", "*/5 * * * *"],
			["expire-results", "17 * * * *"],
		]);
		const custom = createEngine<Cloudflare.Env, Ctx>({
			tasks: [greet],
			maintenance: { expireResults: "0 3 * * *" },
			bindings: (e) => ({ db: e.DB, queue: e.ENGINE_TEST_QUEUE, vars: e }),
			context: (_env, { tasks, log }) => ({ tasks, log, greeting: "Hi" }),
		});
		expect(custom.schedules.find((s) => s.name === "expire-results")?.cron).toBe("0 3 * * *");
	});

	it("refuses two tasks of one name", () => {
		expect(() =>
			createEngine({
				tasks: [greet, greet],
				bindings: () => ({ db: env.DB, queue: env.ENGINE_TEST_QUEUE, vars: env }),
				context: (_env, { tasks, log }) => ({ tasks, log, greeting: "Hi" }),
			}),
		).toThrow(/two tasks are named "greet"/);
	});

	it("enqueues to the real queue, then runs the delivered task with the app's context", async () => {
		const send = vi.spyOn(env.ENGINE_TEST_QUEUE, "send");
		const { id, replayed } = await client().enqueue(greet, { who: "Ada" });
		expect(replayed).toBe(false);
		expect(send).toHaveBeenCalledOnce();
		expect(await client().get(id)).toMatchObject({ id, status: "PENDING" });

		const body = send.mock.calls[0]?.[0];
		const { result } = await deliverBatch((batch) => engine.consume(batch, env), "edge-tasks-engine-test", [body]);

		expect(result.explicitAcks).toHaveLength(1);
		expect(await row(id)).toMatchObject({ name: "greet", status: "SUCCESS", result: "Hello, Ada", attempts: 1 });
	});

	it("runs a task eagerly through the client", async () => {
		expect(await client().apply(greet, { who: "Grace" })).toMatchObject({ status: "SUCCESS", result: "Hello, Grace" });
	});
});

describe("domain errors", () => {
	it("an input that fails the task's schema: InvalidInputError with the schema's issues, nothing sent", async () => {
		const send = vi.spyOn(env.ENGINE_TEST_QUEUE, "send");
		const error = await client()
			.enqueue(greet, { who: "" })
			.catch((e: unknown) => e);
		expect(error).toBeInstanceOf(InvalidInputError);
		expect(error).toMatchObject({ kind: "invalid_input", details: [expect.objectContaining({ path: ["who"] })] });
		expect(send).not.toHaveBeenCalled();
	});

	it("an input too large for a queue message: InputTooLargeError", async () => {
		const who = "x".repeat(limits.MAX_MESSAGE_BYTES);
		await expect(client().enqueue(greet, { who })).rejects.toBeInstanceOf(InputTooLargeError);
	});

	it("a task the engine does not know: UnknownTaskError naming the registered ones", async () => {
		const error = await client()
			.enqueue(unregistered, {})
			.catch((e: unknown) => e);
		expect(error).toBeInstanceOf(UnknownTaskError);
		expect(error).toMatchObject({
			details: { registered: ["greet", "expire_results", "recover_stuck_tasks", "deliver_webhook", "release_due_tasks"] },
		});
	});

	it("revoking an unknown or finished task: TaskNotFoundError, IllegalTransitionError", async () => {
		await expect(client().revoke(crypto.randomUUID())).rejects.toBeInstanceOf(TaskNotFoundError);
		const done = await client().apply(greet, { who: "Ada" });
		await expect(client().revoke(done.id)).rejects.toBeInstanceOf(IllegalTransitionError);
		await expect(client().retry(done.id)).rejects.toThrow("Task is SUCCESS; only FAILURE or REVOKED tasks can be retried");
	});
});
