// Chains, groups and chords from code (ctx.tasks.enqueueWorkflow), run by the
// real consumer or, where a test must control redelivery, by batches handed to
// queue() by hand. The trigger in migrations/0010 moves each workflow on.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { PermanentError, type WorkflowBody } from "../../src/engine";
import { processUserData } from "../../src/tasks/process-user-data";
import { sendEmail } from "../../src/tasks/send-email";
import { sendReport } from "../../src/tasks/send-report";
import { createUser, deliver, failD1When, sentFor, taskRow, testContext } from "./helpers";

afterEach(() => vi.restoreAllMocks());

const tasks = () => testContext().tasks;

/** Waits until the workflow is final (SUCCESS, FAILURE or REVOKED). */
function finalWorkflow(id: string, timeout = 5000): Promise<WorkflowBody> {
	return vi.waitUntil(
		async () => {
			const body = await tasks().workflow(id);
			return ["SUCCESS", "FAILURE", "REVOKED"].includes(body.status) ? body : undefined;
		},
		{ timeout, interval: 20 },
	);
}

const mail = (recipient: string) => ({ recipient, subject: "Hi", body: "Body" });

describe("chain", () => {
	it("runs its steps one after another, handing a step the previous result in the field it names", async () => {
		const user = await createUser();
		const { workflowId, taskIds } = await tasks().enqueueWorkflow({
			chain: [
				{ task: processUserData, input: { user_id: user.id } },
				{ task: sendEmail, input: { recipient: "ada@example.com", subject: "Done" }, resultAs: "body" },
			],
		});
		const body = await finalWorkflow(workflowId);
		expect(body).toMatchObject({
			kind: "chain",
			status: "SUCCESS",
			result: "Email sent to ada@example.com",
			steps: [
				{ task_id: taskIds[0], name: "process_user_data", status: "SUCCESS", result: `Processed user ${user.id}` },
				{ task_id: taskIds[1], name: "send_email", status: "SUCCESS" },
			],
		});
		expect((await taskRow(taskIds[1] ?? ""))?.payload).toEqual({
			recipient: "ada@example.com",
			subject: "Done",
			body: `Processed user ${user.id}`,
		});
		const [first, second] = await Promise.all(taskIds.map((id) => taskRow(id)));
		expect(second?.startedAt?.getTime()).toBeGreaterThanOrEqual(first?.finishedAt?.getTime() ?? Number.POSITIVE_INFINITY);
	});

	it("ends at a step that fails: the steps after it are REVOKED naming it, never left PENDING", async () => {
		const user = await createUser();
		const { workflowId, taskIds } = await tasks().enqueueWorkflow({
			chain: [
				{ task: processUserData, input: { user_id: user.id } },
				// "Processed user N" is no email address: the filled-in input fails its schema.
				{ task: sendEmail, input: { subject: "x", body: "x" }, resultAs: "recipient" },
				{ task: sendEmail, input: mail("bob@example.com") },
			],
		});
		const body = await finalWorkflow(workflowId);
		expect(body.status).toBe("FAILURE");
		expect(body.steps.map((s) => s.status)).toEqual(["SUCCESS", "FAILURE", "REVOKED"]);
		expect(body.steps[2]?.error).toBe(`chain ended at step 2 (send_email ${taskIds[1]}), which ended FAILURE`);
		expect((await taskRow(taskIds[2] ?? ""))?.unsent).toBeNull();
	});

	it("checks every step's input at enqueue, all but the field it receives, and writes nothing when one is wrong", async () => {
		const before = await env.DB.prepare("SELECT count(*) AS n FROM workflows").first<{ n: number }>();
		const attempt = tasks().enqueueWorkflow({
			chain: [
				{ task: processUserData, input: { user_id: 1 } },
				{ task: sendEmail, input: { recipient: "not an address", subject: "x" }, resultAs: "body" },
			],
		});
		await expect(attempt).rejects.toMatchObject({
			kind: "invalid_input",
			details: [{ path: "chain.1.input.recipient", message: "must be an email address" }],
		});
		await expect(
			tasks().enqueueWorkflow({ chain: [{ task: sendEmail, input: mail("a@example.com"), resultAs: "body" }] }),
		).rejects.toMatchObject({ details: [{ path: "chain.0.result_as" }] });
		const after = await env.DB.prepare("SELECT count(*) AS n FROM workflows").first<{ n: number }>();
		expect(after?.n).toBe(before?.n);
	});
});

describe("group", () => {
	it("runs its members at once and answers their results in member order", async () => {
		const users = await Promise.all([createUser(), createUser(), createUser()]);
		const { workflowId } = await tasks().enqueueWorkflow({
			group: users.map((u) => ({ task: processUserData, input: { user_id: u.id } })),
		});
		const body = await finalWorkflow(workflowId);
		expect(body).toMatchObject({ kind: "group", status: "SUCCESS", result: users.map((u) => `Processed user ${u.id}`) });
	});
});

describe("chord", () => {
	it("runs the callback once every member is final, with each member's outcome, failures included", async () => {
		const user = await createUser();
		const send = vi.spyOn(env.MAILER, "send");
		send.mockRejectedValueOnce(new PermanentError("mailbox unavailable"));
		const { workflowId, taskIds } = await tasks().enqueueWorkflow({
			group: [
				{ task: sendEmail, input: mail("gone@example.com") },
				{ task: processUserData, input: { user_id: user.id } },
			],
			callback: { task: sendReport, input: { to: "boss@example.com" } },
		});
		const body = await finalWorkflow(workflowId);
		expect(body).toMatchObject({ kind: "chord", status: "SUCCESS", result: { to: "boss@example.com", succeeded: 1, failed: 1 } });
		expect((await taskRow(taskIds[2] ?? ""))?.payload).toMatchObject({
			to: "boss@example.com",
			results: [
				{ task_id: taskIds[0], name: "send_email", status: "FAILURE", result: null, error: "mailbox unavailable" },
				{ task_id: taskIds[1], name: "process_user_data", status: "SUCCESS", result: `Processed user ${user.id}`, error: null },
			],
		});
	});

	it("counts each member once under redelivery and whole-batch retry, and runs the callback once", async () => {
		const users = await Promise.all([createUser(), createUser()]);
		// Delayed, so the real consumer leaves the members to this test's batches.
		const { workflowId, taskIds } = await tasks().enqueueWorkflow(
			{
				group: users.map((u) => ({ task: processUserData, input: { user_id: u.id } })),
				callback: { task: sendReport, input: { to: "once@example.com" } },
			},
			{ delaySeconds: 3600 },
		);
		const members = users.map((u, i) => ({ id: taskIds[i], name: "process_user_data", input: { user_id: u.id } }));
		const send = vi.spyOn(env.TASKS, "sendBatch");

		// The first delivery's outcome write fails: the whole batch is retried.
		const outage = failD1When((sql) => sql.includes("'SUCCESS'") && sql.includes("json_each"));
		const failed = await deliver(members);
		expect(failed.retried).toHaveLength(2);
		outage.mockRestore();
		// The retry comes once the first delivery's leases have run out.
		await env.DB.prepare("UPDATE tasks SET lease_expires_at = 1 WHERE workflow_id = ?").bind(workflowId).run();
		// The retry, then a redelivery of one member after it finished.
		await deliver(members);
		await deliver([members[0]]);

		const flow = await env.DB.prepare("SELECT done, members FROM workflows WHERE id = ?").bind(workflowId).first();
		expect(flow).toEqual({ done: 2, members: 2 });
		const body = await finalWorkflow(workflowId);
		expect(body.status).toBe("SUCCESS");
		const callback = await taskRow(taskIds[2] ?? "");
		expect(callback).toMatchObject({ status: "SUCCESS", attempts: 1 });
		expect(sentFor(send, taskIds[2] ?? "")).toHaveLength(1);
	});
});

describe("revoking a workflow", () => {
	it("revokes every step that has not started, and then has nothing left to revoke", async () => {
		const { workflowId } = await tasks().enqueueWorkflow(
			{
				group: [{ task: sendEmail, input: mail("a@example.com") }],
				callback: { task: sendReport, input: { to: "b@example.com" } },
			},
			{ delaySeconds: 600 },
		);
		const body = await tasks().revokeWorkflow(workflowId);
		expect(body.status).toBe("REVOKED");
		expect(body.steps.map((s) => s.status)).toEqual(["REVOKED", "REVOKED"]);
		await expect(tasks().revokeWorkflow(workflowId)).rejects.toMatchObject({ kind: "illegal_transition" });
		await expect(tasks().workflow(crypto.randomUUID())).rejects.toMatchObject({ kind: "workflow_not_found" });
	});
});
