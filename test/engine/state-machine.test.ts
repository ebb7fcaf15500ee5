// The transitions table is the only way states change: illegal moves are no-ops.
import { describe, expect, it } from "vitest";
import { FINAL_STATES, sourcesOf, TRANSITIONS } from "../../src/engine/states";
import { markFailure } from "../../src/engine/store/tasks";
import { claimTask, engineDb, finishTask, recorded, row } from "./harness";

describe("task state machine", () => {
	it("has Celery's final states, which have no way out", () => {
		expect(FINAL_STATES).toEqual(["SUCCESS", "FAILURE", "REVOKED"]);
		expect(sourcesOf("SUCCESS")).toEqual(["STARTED"]);
		expect(sourcesOf("REVOKED")).toEqual(["PENDING", "RETRY"]);
		expect(TRANSITIONS.PENDING).not.toContain("SUCCESS");
	});

	it("does not let a PENDING task jump to SUCCESS or RETRY", async () => {
		const _db = engineDb();
		const { id } = await recorded("stand_in", { n: 1 });
		expect(await finishTask({ id, attempt: 0, to: "SUCCESS", result: "x" })).toBe(false);
		expect(await finishTask({ id, attempt: 0, to: "RETRY", error: "x", delaySeconds: 1 })).toBe(false);
		expect(await row(id)).toMatchObject({ status: "PENDING" });
	});

	it("never changes a final task", async () => {
		const db = engineDb();
		const envelope = await recorded("stand_in", { n: 1 });
		const { id } = envelope;
		const attempt = await claimTask(envelope, 60);
		expect(await finishTask({ id, attempt: attempt ?? 0, to: "SUCCESS", result: "done" })).toBe(true);
		expect(await markFailure(db, id, "late")).toBeUndefined();
		expect(await claimTask(envelope, 60)).toBeUndefined();
		expect(await row(id)).toMatchObject({ status: "SUCCESS", result: "done" });
	});

	it("fences finishing writes by attempt: a run that lost its lease cannot overwrite", async () => {
		const _db = engineDb();
		const envelope = await recorded("stand_in", { n: 1 });
		const { id } = envelope;
		await claimTask(envelope, 0); // run 1, lease already over
		expect(await claimTask(envelope, 60)).toBe(2); // run 2 takes over
		expect(await finishTask({ id, attempt: 1, to: "SUCCESS", result: "stale" })).toBe(false);
		expect(await finishTask({ id, attempt: 2, to: "SUCCESS", result: "fresh" })).toBe(true);
		expect(await row(id)).toMatchObject({ status: "SUCCESS", result: "fresh" });
	});
});
