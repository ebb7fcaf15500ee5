// The bench's billing counters (bench/worker/): what they report is what the
// bindings themselves report, and what the Worker gets through them is what it
// would get without them. npm run bench prices production from these counts.
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { countingD1, type D1Counts } from "../../bench/worker/d1-counter";
import { countingBatch, countingQueue, emptyQueueCounts, operationsOf } from "../../bench/worker/queue-counter";

const d1Counts = (): Required<D1Counts> => ({ roundTrips: 0, statements: 0, rowsRead: 0, rowsWritten: 0 });
const insertUser = (db: D1Database, email: string) =>
	db.prepare("INSERT INTO users (email, name) VALUES (?, ?)").bind(email, "Counted");
const SELECT = "SELECT email, name FROM users WHERE email LIKE ? ORDER BY email";

afterEach(() => {
	vi.restoreAllMocks();
});

describe("countingD1", () => {
	it("counts the rows D1 reports for the same writes and reads, through run, all and batch", async () => {
		// The table's first AUTOINCREMENT insert reads less than later ones: not the one compared.
		await insertUser(env.DB, "first@users.example").run();
		const counts = d1Counts();
		const counted = countingD1(env.DB, counts);
		await insertUser(counted, "a@counted.example").run();
		await counted.batch([insertUser(counted, "b@counted.example"), insertUser(counted, "c@counted.example")]);
		const written = [
			await insertUser(env.DB, "a@direct.example").run(),
			...(await env.DB.batch([insertUser(env.DB, "b@direct.example"), insertUser(env.DB, "c@direct.example")])),
		];
		// Both reads scan the same table.
		const read = await counted.prepare(SELECT).bind("%@counted.example").all();
		const direct = await env.DB.prepare(SELECT).bind("%@direct.example").all();

		expect(counts).toEqual({
			roundTrips: 3,
			statements: 4,
			rowsRead: written.reduce((n, r) => n + r.meta.rows_read, 0) + direct.meta.rows_read,
			rowsWritten: written.reduce((n, r) => n + r.meta.rows_written, 0),
		});
		expect(counts.rowsWritten).toBeGreaterThanOrEqual(3);
		expect(read.results).toEqual(
			direct.results.map((row) => ({ ...row, email: String(row.email).replace("direct", "counted") })),
		);
	});

	it("answers raw() and first() as D1 does, and counts the rows behind them", async () => {
		await env.DB.batch([insertUser(env.DB, "a@raw.example"), insertUser(env.DB, "b@raw.example")]);
		const counts = d1Counts();
		const counted = countingD1(env.DB, counts);
		const statement = (db: D1Database) => db.prepare(SELECT).bind("%@raw.example");

		expect(await statement(counted).raw()).toEqual(await statement(env.DB).raw());
		expect(await statement(counted).first()).toEqual(await statement(env.DB).first());
		expect(await statement(counted).first("name")).toBe("Counted");
		await expect(statement(counted).first("missing")).rejects.toThrow("D1_COLUMN_NOTFOUND");
		const { meta } = await statement(env.DB).all();
		expect(counts).toMatchObject({ roundTrips: 4, rowsRead: 4 * meta.rows_read });
	});
});

describe("queue counters", () => {
	it("bill a message per 64 KB, metadata included", () => {
		expect(operationsOf({ id: "t1" })).toBe(1);
		expect(operationsOf("x".repeat(63_800))).toBe(1);
		expect(operationsOf("x".repeat(64_000))).toBe(2);
	});

	it("count each message sent, one by one or in a batch, and still send it", async () => {
		const send = vi.spyOn(env.ENGINE_TEST_QUEUE, "send");
		const sendBatch = vi.spyOn(env.ENGINE_TEST_QUEUE, "sendBatch");
		const counts = emptyQueueCounts();
		const queue = countingQueue(env.ENGINE_TEST_QUEUE, counts);
		await queue.send({ id: "one" });
		await queue.sendBatch([{ body: { id: "two" } }, { body: "x".repeat(70_000) }]);

		expect(counts).toMatchObject({ sent: 3, writeOps: 4 });
		expect(send).toHaveBeenCalledOnce();
		expect(sendBatch.mock.calls[0]?.[0]).toHaveLength(2);
	});

	it("count a batch's deliveries, acks and retries, which still reach the queue", async () => {
		const batch = createMessageBatch("edge-tasks-dev", [
			{ id: "m1", timestamp: new Date(), attempts: 1, body: { id: "t1" } },
			{ id: "m2", timestamp: new Date(), attempts: 2, body: { id: "t2" } },
			{ id: "m3", timestamp: new Date(), attempts: 1, body: { id: "t3" } },
		]);
		const retry = vi.spyOn(batch.messages[1] as Message<unknown>, "retry");
		const counts = emptyQueueCounts();
		const counted = countingBatch(batch, counts);
		const [first, second] = counted.messages;
		first?.ack();
		second?.retry({ delaySeconds: 5 });
		expect(counted.queue).toBe("edge-tasks-dev");

		const result = await getQueueResult(batch, createExecutionContext());
		expect(result.explicitAcks).toEqual(["m1"]);
		expect(result.retryMessages.map((m) => m.msgId)).toEqual(["m2"]);
		expect(retry).toHaveBeenCalledWith({ delaySeconds: 5 });
		expect(counts).toMatchObject({ delivered: 3, readOps: 3, acked: 1, deleteOps: 1, retried: 1 });
	});
});
