// The transitions table is the only way states change: illegal moves are no-ops.
import { describe, expect, it } from "vitest";
import { FINAL_STATES, sourcesOf, TRANSITIONS } from "../src/tasks/states";
import { claim, getTask, markFailure, markRetry, markSuccess } from "../src/tasks/store";
import { recorded, testContext } from "./helpers";

describe("task state machine", () => {
	it("has Celery's final states, which have no way out", () => {
		expect(FINAL_STATES).toEqual(["SUCCESS", "FAILURE", "REVOKED"]);
		expect(sourcesOf("SUCCESS")).toEqual(["STARTED"]);
		expect(sourcesOf("REVOKED")).toEqual(["PENDING", "RETRY"]);
		expect(TRANSITIONS.PENDING).not.toContain("SUCCESS");
	});

	it("does not let a PENDING task jump to SUCCESS or RETRY", async () => {
		const db = testContext().db;
		const { id } = await recorded("process_user_data", { user_id: 1 });
		expect(await markSuccess(db, id, 0, "x")).toBeUndefined();
		expect(await markRetry(db, id, 0, "x", new Date())).toBeUndefined();
		expect(await getTask(db, id)).toMatchObject({ status: "PENDING" });
	});

	it("never changes a final task", async () => {
		const db = testContext().db;
		const { id } = await recorded("process_user_data", { user_id: 1 });
		const run = await claim(db, id, 60);
		await markSuccess(db, id, run?.attempts ?? 0, "done");
		expect(await markFailure(db, id, "late")).toBeUndefined();
		expect(await claim(db, id, 60)).toBeUndefined();
		expect(await getTask(db, id)).toMatchObject({ status: "SUCCESS", result: "done" });
	});

	it("fences finishing writes by attempt: a run that lost its lease cannot overwrite", async () => {
		const db = testContext().db;
		const { id } = await recorded("process_user_data", { user_id: 1 });
		await claim(db, id, 0); // run 1, lease already over
		const second = await claim(db, id, 60); // run 2 takes over
		expect(second?.attempts).toBe(2);
		expect(await markSuccess(db, id, 1, "stale")).toBeUndefined();
		expect(await markSuccess(db, id, 2, "fresh")).toMatchObject({ status: "SUCCESS", result: "fresh" });
	});
});
