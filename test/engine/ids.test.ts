// Task ids are UUIDv7: a missing row reads as PENDING only while the id could
// still be on the queue and its result could not yet have expired.
import { v7 } from "uuid";
import { describe, expect, it } from "vitest";
import { parseEngineConfig } from "../../src/engine/config";
import { mintedAt, taskIds, unseenSince } from "../../src/engine/ids";

const DAY_S = 86_400;
const config = (retention: number, ttl: number) =>
	parseEngineConfig({
		TASKS_DEAD_LETTER_QUEUE: "dlq",
		TASK_ID_SECRET: "x".repeat(32),
		QUEUE_RETENTION_SECONDS: String(retention),
		RESULT_TTL_SECONDS: String(ttl),
	}).queueRetentionSeconds;
const ids = taskIds("test-task-id-secret-0123456789abcdef0123456789");
const mintedAgo = (seconds: number) => v7({ msecs: Date.now() - seconds * 1000 });

describe("task ids", () => {
	it("are UUIDv7 whose time prefix is when they were minted", async () => {
		const before = Date.now();
		const minted = mintedAt(await ids.mint())?.getTime() ?? 0;
		expect(minted).toBeGreaterThanOrEqual(before);
		expect(minted).toBeLessThanOrEqual(Date.now());
		expect(mintedAt(crypto.randomUUID())).toBeUndefined();
	});

	it("read as unseen within the queue's retention, and not after it", () => {
		const defaults = config(4 * DAY_S, 7 * DAY_S);
		expect(unseenSince(mintedAgo(2 * DAY_S), defaults)).toBeInstanceOf(Date);
		expect(unseenSince(mintedAgo(5 * DAY_S), defaults)).toBeUndefined(); // past retention
		expect(unseenSince(mintedAgo(2 * DAY_S), config(DAY_S, 7 * DAY_S))).toBeUndefined(); // Free plan: 24 h
		expect(unseenSince(mintedAgo(-3600), defaults)).toBeUndefined(); // an hour in the future
		expect(unseenSince(crypto.randomUUID(), defaults)).toBeUndefined();
	});

	it("refuse a result TTL shorter than the queue's retention: a late redelivery would run the task again", () => {
		expect(() => config(4 * DAY_S, DAY_S)).toThrow(/RESULT_TTL_SECONDS: must be at least QUEUE_RETENTION_SECONDS/);
	});

	it("are self-certifying: this deployment's verify; made-up, altered or another secret's do not", async () => {
		const id = await ids.mint();
		expect(await ids.issued(id)).toBe(true);
		expect(await ids.issued(v7())).toBe(false);
		const altered = `${id.slice(0, 35)}${id.endsWith("0") ? "1" : "0"}`;
		expect(await ids.issued(altered)).toBe(false);
		expect(await taskIds("another-secret-0123456789abcdef0123456789").issued(id)).toBe(false);
		expect(await ids.issued("not-a-uuid")).toBe(false);
		const many = await Promise.all(Array.from({ length: 1000 }, () => ids.mint()));
		expect(new Set(many).size).toBe(1000);
	});
});
