// Workflows over HTTP (POST, GET and DELETE /workflows, and /process-users
// with `then`), and POST /users with welcome_email: the app's write and its
// task in one D1 transaction (the engine's outbox).
import { env } from "cloudflare:workers";
import PostalMime from "postal-mime";
import { afterEach, describe, expect, it, vi } from "vitest";
import { releaseDueTasks } from "../../src/engine/builtins/release-due-tasks";
import {
	call,
	createUser,
	failD1When,
	postJson,
	rawMime,
	rowCounts,
	sentFor,
	taskRow,
	testContext,
	waitForFinal,
} from "./helpers";

afterEach(() => vi.restoreAllMocks());

interface Accepted {
	workflow_id: string;
	task_ids: string[];
	status: string;
}

async function workflowOf(id: string) {
	return vi.waitUntil(
		async () => {
			const body = await (await call(`/workflows/${id}`)).json<{
				status: string;
				steps: { status: string }[];
				result: unknown;
			}>();
			return ["SUCCESS", "FAILURE", "REVOKED"].includes(body.status) ? body : undefined;
		},
		{ timeout: 5000, interval: 20 },
	);
}

describe("POST /workflows", () => {
	it("runs a chain: 202 with the workflow's id and every step's task id, then GET shows it end to end", async () => {
		const user = await createUser();
		const res = await postJson("/workflows", {
			chain: [
				{ name: "process_user_data", input: { user_id: user.id } },
				{ name: "send_email", input: { recipient: "ada@example.com", subject: "Done" }, result_as: "body" },
			],
		});
		expect(res.status).toBe(202);
		const accepted = await res.json<Accepted>();
		expect(res.headers.get("Location")).toBe(`/workflows/${accepted.workflow_id}`);
		expect(accepted).toMatchObject({ status: "queued", task_ids: [expect.any(String), expect.any(String)] });
		expect(await workflowOf(accepted.workflow_id)).toMatchObject({
			workflow_id: accepted.workflow_id,
			kind: "chain",
			status: "SUCCESS",
			steps: [
				{
					task_id: accepted.task_ids[0],
					name: "process_user_data",
					status: "SUCCESS",
					result: `Processed user ${user.id}`,
					error: null,
				},
				{ task_id: accepted.task_ids[1], name: "send_email", status: "SUCCESS", result: "Email sent to ada@example.com" },
			],
			result: "Email sent to ada@example.com",
		});
	});

	it("runs a group, and a chord whose callback gets the members' outcomes", async () => {
		const users = await Promise.all([createUser(), createUser()]);
		const group = await (
			await postJson("/workflows", { group: users.map((u) => ({ name: "process_user_data", input: { user_id: u.id } })) })
		).json<Accepted>();
		expect(await workflowOf(group.workflow_id)).toMatchObject({
			kind: "group",
			status: "SUCCESS",
			result: users.map((u) => `Processed user ${u.id}`),
		});

		const chord = await (
			await postJson("/workflows", {
				group: users.map((u) => ({ name: "process_user_data", input: { user_id: u.id } })),
				// biome-ignore lint/suspicious/noThenProperty: the API's field for a chord's callback
				then: { name: "send_report", input: { to: "ops@example.com", subject: "Users processed" } },
			})
		).json<Accepted>();
		expect(chord.task_ids).toHaveLength(3);
		expect(await workflowOf(chord.workflow_id)).toMatchObject({
			kind: "chord",
			status: "SUCCESS",
			result: { to: "ops@example.com", succeeded: 2, failed: 0 },
		});
	});

	it("answers a replayed Idempotency-Key with the same workflow, and another body under it with 422", async () => {
		const headers = { "Idempotency-Key": crypto.randomUUID() };
		const body = {
			chain: [{ name: "send_email", input: { recipient: "a@example.com", subject: "Hi", body: "x" } }],
			delay_seconds: 600,
		};
		const first = await postJson("/workflows", body, headers);
		const again = await postJson("/workflows", body, headers);
		expect([first.status, again.status]).toEqual([202, 200]);
		expect(await again.json()).toEqual(await first.json());
		expect((await postJson("/workflows", { ...body, delay_seconds: 601 }, headers)).status).toBe(422);
	});

	it.each([
		["an unknown task", { chain: [{ name: "resize_image", input: {} }] }, 400, "unknown_task"],
		["an internal task", { group: [{ name: "recover_stuck_tasks", input: {} }] }, 400, "unknown_task"],
		["a step's bad input", { group: [{ name: "process_user_data", input: { user_id: "x" } }] }, 400, "validation_error"],
		["result_as on a first step", { chain: [{ name: "daily_summary", input: {}, result_as: "hours" }] }, 400, "validation_error"],
		[
			"result_as that is not a field name",
			{
				chain: [
					{ name: "daily_summary", input: {} },
					{ name: "daily_summary", input: {}, result_as: "a.b" },
				],
			},
			400,
			"validation_error",
		],
		["both a chain and a group", { chain: [], group: [] }, 400, "validation_error"],
		["an empty chain", { chain: [] }, 400, "validation_error"],
	])("refuses %s, writing nothing", async (_, body, status, code) => {
		const before = await rowCounts();
		const res = await postJson("/workflows", body);
		expect(res.status).toBe(status);
		expect(await res.json()).toMatchObject({ error: { code } });
		expect(await rowCounts()).toEqual(before);
	});

	it("names the step and field of a bad input", async () => {
		const res = await postJson("/workflows", {
			group: [{ name: "daily_summary", input: {} }],
			// biome-ignore lint/suspicious/noThenProperty: the API's field for a chord's callback
			then: { name: "send_report", input: { to: "not an address" } },
		});
		expect(await res.json()).toMatchObject({
			error: { code: "validation_error", details: [{ path: "then.input.to", message: "must be an email address" }] },
		});
	});

	it("revokes a chord's callback when none of its members reached the queue: a retry cannot run it twice", async () => {
		const user = await createUser();
		vi.spyOn(env.TASKS, "sendBatch").mockRejectedValueOnce(new Error("Queue send failed: overloaded"));
		const res = await postJson("/workflows", {
			group: [{ name: "process_user_data", input: { user_id: user.id } }],
			// biome-ignore lint/suspicious/noThenProperty: the API's field for a chord's callback
			then: { name: "send_report", input: { to: "ops@example.com" } },
		});
		expect(res.status).toBe(503);
		const { error } = await res.json<{ error: { details: { enqueued: unknown[]; not_enqueued: { task_id: string }[] } } }>();
		expect(error.details.enqueued).toEqual([]);
		const [member, callback] = error.details.not_enqueued.map((e) => e.task_id);
		expect(await taskRow(member ?? "")).toMatchObject({ status: "FAILURE" });
		expect(await taskRow(callback ?? "")).toMatchObject({ status: "REVOKED", error: "revoked: its request was not enqueued" });
		await testContext().tasks.apply(releaseDueTasks, {});
		expect((await taskRow(callback ?? ""))?.attempts).toBe(0);
	});
});

describe("GET and DELETE /workflows/:id", () => {
	it("revokes every step not started; a second DELETE is 409; an unknown id is 404", async () => {
		const { workflow_id } = await (
			await postJson("/workflows", {
				chain: [
					{ name: "send_email", input: { recipient: "a@example.com", subject: "Hi", body: "x" } },
					{ name: "send_email", input: { recipient: "b@example.com", subject: "Hi", body: "x" } },
				],
				delay_seconds: 600,
			})
		).json<Accepted>();
		const res = await call(`/workflows/${workflow_id}`, { method: "DELETE" });
		expect(res.status).toBe(200);
		expect(await res.json()).toMatchObject({ status: "REVOKED", steps: [{ status: "REVOKED" }, { status: "REVOKED" }] });
		expect((await call(`/workflows/${workflow_id}`, { method: "DELETE" })).status).toBe(409);
		expect((await call(`/workflows/${crypto.randomUUID()}`)).status).toBe(404);
		expect((await call("/workflows/not-a-uuid")).status).toBe(400);
	});
});

describe("POST /process-users with then", () => {
	it("processes the users as a chord and emails the report once they are all done", async () => {
		const send = vi.spyOn(env.MAILER, "send");
		const users = await Promise.all([createUser(), createUser()]);
		const res = await postJson("/process-users", {
			user_ids: [...users.map((u) => u.id), 999_999],
			// biome-ignore lint/suspicious/noThenProperty: the API's field for a chord's callback
			then: { name: "send_report", input: { to: "ops@example.com" } },
		});
		expect(res.status).toBe(202);
		const { task_ids, workflow_id } = await res.json<{ task_ids: string[]; workflow_id: string }>();
		expect(task_ids).toHaveLength(4);
		expect(res.headers.get("Location")).toBe(`/workflows/${workflow_id}`);
		expect(await workflowOf(workflow_id)).toMatchObject({ kind: "chord", status: "SUCCESS" });
		const report = await waitForFinal(task_ids[3] ?? "");
		expect(report?.result).toEqual({ to: "ops@example.com", succeeded: 3, failed: 0 });
		const mails = await Promise.all(send.mock.calls.map(([message]) => PostalMime.parse(rawMime(message))));
		const mail = mails.find((m) => m.to?.some((to) => to.address === "ops@example.com"));
		expect(mail?.text).toContain("3 of 3 tasks succeeded.");
		expect(mail?.text).toContain("User 999999 not found");
	});
});

describe("POST /users with welcome_email (the outbox)", () => {
	const release = () => testContext().tasks.apply(releaseDueTasks, {});

	it("creates the user and its welcome email's task in one transaction; the email is delivered", async () => {
		const email = `${crypto.randomUUID()}@example.com`;
		const res = await postJson("/users", { email, name: "Ada", welcome_email: true });
		expect(res.status).toBe(201);
		const body = await res.json<{ id: number; welcome_task_id: string }>();
		expect(await waitForFinal(body.welcome_task_id)).toMatchObject({
			name: "send_email",
			status: "SUCCESS",
			payload: { recipient: email, subject: "Welcome", body: "Welcome, Ada!" },
		});
	});

	it("leaves neither user nor task when D1 fails in the batch", async () => {
		const before = await rowCounts();
		failD1When((sql) => sql.startsWith('insert into "tasks"'));
		const res = await postJson("/users", { email: `${crypto.randomUUID()}@example.com`, welcome_email: true });
		expect(res.status).toBe(503);
		vi.restoreAllMocks();
		expect(await rowCounts()).toEqual(before);
	});

	it("enqueues nothing for a duplicate email (409)", async () => {
		const email = `${crypto.randomUUID()}@example.com`;
		expect((await postJson("/users", { email })).status).toBe(201);
		const before = await rowCounts();
		const res = await postJson("/users", { email, welcome_email: true });
		expect(res.status).toBe(409);
		expect(await rowCounts()).toEqual(before);
	});

	it("sends exactly one message when the send after the commit fails: the release sweep sends it", async () => {
		const sendBatch = vi.spyOn(env.TASKS, "sendBatch");
		sendBatch.mockRejectedValueOnce(new Error("Queue send failed: overloaded"));
		const res = await postJson("/users", { email: `${crypto.randomUUID()}@example.com`, welcome_email: true });
		expect(res.status).toBe(201);
		const { welcome_task_id } = await res.json<{ welcome_task_id: string }>();
		expect(await taskRow(welcome_task_id)).toMatchObject({ status: "PENDING", unsent: true });
		await release();
		await release();
		expect(await waitForFinal(welcome_task_id)).toMatchObject({ status: "SUCCESS", attempts: 1 });
		// The refused call, and the one that went.
		expect(sentFor(sendBatch, welcome_task_id)).toHaveLength(2);
	});

	it("sends exactly one message when the Worker dies between the commit and the send", async () => {
		const sendBatch = vi.spyOn(env.TASKS, "sendBatch");
		const prepared = await testContext().tasks.prepare((await import("../../src/tasks/send-email")).sendEmail, {
			recipient: "late@example.com",
			subject: "Welcome",
			body: "Hi",
		});
		const [first, ...more] = prepared.statements;
		if (!first) throw new Error("prepare gave no statements");
		await testContext().db.batch([first, ...more]);
		// No prepared.send(): the Worker is gone. The sweep finds it, and sends it once.
		await Promise.all([release(), release()]);
		await release();
		expect(await waitForFinal(prepared.id)).toMatchObject({ status: "SUCCESS", attempts: 1 });
		expect(sentFor(sendBatch, prepared.id)).toHaveLength(1);
		// A late send() from a Worker that did survive sends nothing more.
		await prepared.send();
		expect(sentFor(sendBatch, prepared.id)).toHaveLength(1);
	});
});
