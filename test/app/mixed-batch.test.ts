// A full batch of 100 with failures sprinkled in: every message gets its own
// outcome and none is lost.
import { env } from "cloudflare:workers";
import { afterEach, expect, it, vi } from "vitest";
import type { Envelope } from "../../src/engine/envelope";
import { createUser, deliver, recorded, rowCounts } from "./helpers";

afterEach(() => vi.restoreAllMocks());

it("settles each of 100 mixed messages on its own", async () => {
	// The binding is an RPC stub: keep its real method to call through to.
	const realSend = env.MAILER.send;
	vi.spyOn(env.MAILER, "send").mockImplementation(async (message) => {
		if ("to" in message && String(message.to).startsWith("flaky")) throw new Error("upstream timeout");
		return Reflect.apply(realSend, env.MAILER, [message]);
	});

	const bodies: unknown[] = [];
	const expected = { SUCCESS: 0, RETRY: 0, FAILURE: 0 };
	for (let i = 0; i < 100; i++) {
		let body: Envelope | string;
		switch (i % 10) {
			case 0:
			case 1:
			case 2:
			case 3:
				body = await recorded("process_user_data", { user_id: (await createUser()).id });
				expected.SUCCESS++;
				break;
			case 4:
			case 5:
				body = await recorded("process_user_data", { user_id: 1_000_000 + i }); // "not found" is a result
				expected.SUCCESS++;
				break;
			case 6:
			case 7:
				body = await recorded("send_email", { recipient: `ok${i}@example.com`, subject: "Hi", body: "x" });
				expected.SUCCESS++;
				break;
			case 8:
				body = await recorded("send_email", { recipient: `flaky${i}@example.com`, subject: "Hi", body: "x" });
				expected.RETRY++;
				break;
			default:
				body = i % 20 === 9 ? "not an envelope" : await recorded("no_such_task", {});
				if (typeof body !== "string") expected.FAILURE++;
		}
		bodies.push(body);
	}
	const before = await rowCounts();

	const { batch, result, retried } = await deliver(bodies);

	const acked = new Set(result.explicitAcks);
	const retriedIds = new Set(retried.map((r) => r.id));
	for (const message of batch.messages) {
		expect(acked.has(message.id) !== retriedIds.has(message.id)).toBe(true); // exactly one outcome each
	}
	expect(retriedIds.size).toBe(10);
	expect(acked.size).toBe(90);

	const counts = await env.DB.prepare("SELECT status, count(*) AS n FROM tasks GROUP BY status").all<{
		status: string;
		n: number;
	}>();
	expect(Object.fromEntries(counts.results.map((r) => [r.status, r.n]))).toEqual(expected);
	expect(await rowCounts()).toEqual(before);
});
