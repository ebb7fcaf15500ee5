// The dashboard's pages render what D1 holds, and its buttons change it.
// Tests share this file's D1, so each asserts on what it seeded (its own time
// window, its own ids, or the change in a count).
import { env } from "cloudflare:workers";
import { v7 } from "uuid";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { insertPendingMany } from "../../src/engine/store/tasks";
import { sendEmail } from "../../src/tasks/send-email";
import { attributes, html, page, signIn, submit, texts } from "./dashboard-helpers";
import { deliver, mintTaskId, postJson, recorded, taskRow, testContext } from "./helpers";

afterEach(() => vi.restoreAllMocks());

let cookie = "";
beforeAll(async () => {
	cookie = await signIn();
});

const get = async (path: string, status = 200) => html(await page(path, cookie), status);

/** The counts in the overview's row for a state or task name. */
async function row(body: string, label: string): Promise<string[]> {
	const rows = await texts(body, "section[aria-labelledby=counts-heading] tbody tr");
	const match = rows.find((r) => r.startsWith(`${label} `));
	return match?.slice(label.length + 1).split(" ") ?? [];
}

async function fail(error: string) {
	const task = await recorded("send_email", { recipient: "ada@example.com", subject: "Hi", body: "x" });
	await deliver([{ ...task, input: { recipient: "not an address" } }]);
	await env.DB.prepare("UPDATE tasks SET error = ? WHERE id = ?").bind(error, task.id).run();
	return task.id;
}

describe("overview", () => {
	it("counts tasks per state and name, charts them, and lists the latest failures with their errors", async () => {
		const before = await get("/dashboard");
		const failedBefore = Number((await row(before, "FAILURE"))[0]);
		const emailsBefore = Number((await row(before, "send_email"))[0] ?? 0);

		const ids = [await fail("SMTP 421: try again later"), await fail("SMTP 550: mailbox unavailable")];
		const body = await get("/dashboard");

		expect(Number((await row(body, "FAILURE"))[0])).toBe(failedBefore + 2);
		expect(Number((await row(body, "send_email"))[0])).toBe(emailsBefore + 2);
		const failures = await texts(body, "section[aria-labelledby=failures-heading] tbody tr");
		expect(failures[0]).toContain("SMTP 550: mailbox unavailable");
		expect(failures[1]).toContain("SMTP 421: try again later");
		const links = await attributes(body, "section[aria-labelledby=failures-heading] tbody a", "href");
		expect(links.slice(0, 2)).toEqual([`/dashboard/tasks/${ids[1]}`, `/dashboard/tasks/${ids[0]}`]);

		expect(await texts(body, "svg title")).toEqual(["Tasks enqueued and finished per minute", "Failure rate per minute"]);
		expect((await texts(body, "svg desc"))[0]).toMatch(/^Over the last hour: \d+ enqueued, \d+ succeeded, [1-9]\d* failed\.$/);
		expect(await texts(await get("/dashboard?range=24h"), "svg title")).toEqual([
			"Tasks enqueued and finished per 30 minutes",
			"Failure rate per 30 minutes",
		]);
	});

	it("lists tasks waiting on a flow limit, and their page says which", async () => {
		const task = await recorded("process_user_data", { user_id: 42 });
		await env.DB.prepare("UPDATE tasks SET waiting = 'concurrency_limited', due_at = ? WHERE id = ?")
			.bind(Date.now() + 5000, task.id)
			.run();
		const body = await get("/dashboard");
		const rows = await texts(body, "section[aria-labelledby=waiting-heading] tbody tr");
		expect(rows.some((r) => r.includes("process_user_data") && r.includes("concurrency_limited"))).toBe(true);
		expect(await texts(await get(`/dashboard/tasks/${task.id}`), "li")).toContainEqual(
			expect.stringContaining("Waiting (concurrency_limited)"),
		);
	});

	it("shows the oldest due task as the backlog, not a delayed one", async () => {
		// Tasks other tests left waiting would be older: finish them first.
		await env.DB.prepare("UPDATE tasks SET status = 'SUCCESS' WHERE status = 'PENDING'").run();
		const delayed = await postJson("/send-email", { email: "a@example.com", subject: "Later", body: "x", delay_seconds: 3600 });
		expect(delayed.status).toBe(202);
		expect(await texts(await get("/dashboard"), ".card")).toContain("Oldest due task waiting none");

		const due = await recorded("process_user_data", { user_id: 1 });
		await env.DB.prepare("UPDATE tasks SET due_at = ? WHERE id = ?")
			.bind(Date.now() - 90_000, due.id)
			.run();
		const body = await get("/dashboard");
		expect(await texts(body, ".card")).toContain("Oldest due task waiting 1 min 30 s process_user_data");
		expect(await attributes(body, ".card a", "href")).toEqual([`/dashboard/tasks/${due.id}`]);
	});

	it("shows the queue's own backlog, which counts tasks that have no row yet", async () => {
		// The figure is the queue's, not a count of rows: its metrics say so.
		const oldestMessageTimestamp = new Date(Date.now() - 125_000);
		const metrics = vi
			.spyOn(env.TASKS, "metrics")
			.mockResolvedValue({ backlogCount: 1234, backlogBytes: 0, oldestMessageTimestamp });
		const cards = await texts(await get("/dashboard"), ".card");
		expect(metrics).toHaveBeenCalled();
		expect(cards.find((card) => card.startsWith("On the queue"))).toMatch(/^On the queue 1,234 ?oldest sent 2 min 5 s ago$/);
		metrics.mockRestore();

		// Queue metrics are one more remote call: when it fails, the page still renders.
		vi.spyOn(env.TASKS, "metrics").mockRejectedValue(new Error("metrics unavailable"));
		expect(await texts(await get("/dashboard"), ".card")).toContain("On the queue unknown");
	});

	it("refuses an unknown chart range with an HTML page naming it", async () => {
		const body = await get("/dashboard?range=week", 400);
		expect(await texts(body, "li")).toContain("range must be 1h or 24h");
	});
});

describe("task list", () => {
	it("filters by state, name and time range, a page of 25 at a time, each row linking to its task", async () => {
		const base = Date.UTC(2032, 5, 1, 10, 0);
		const rows = Array.from({ length: 30 }, (_, i) => ({ id: crypto.randomUUID(), name: "send_email", payload: { i } }));
		const db = testContext().db;
		for (const [i, task] of rows.entries()) {
			const [insert] = insertPendingMany(db, [task], new Date(base + i * 1000));
			if (insert) await insert;
		}
		await env.DB.prepare("UPDATE tasks SET status = 'FAILURE' WHERE id = ?").bind(rows[3]?.id).run();
		const window = "from=2032-06-01T10:00&to=2032-06-01T10:01";

		const first = await get(`/dashboard/tasks?status=PENDING&name=send_email&${window}`);
		const links = await attributes(first, "tbody a", "href");
		expect(links).toHaveLength(25);
		expect(links[0]).toBe(`/dashboard/tasks/${rows[29]?.id}`);
		expect(await attributes(first, "option[selected]", "value")).toEqual(["PENDING", "send_email"]);
		expect(await attributes(first, "input[name=from]", "value")).toEqual(["2032-06-01T10:00"]);

		const [older] = await attributes(first, "a[rel=next]", "href");
		expect(older).toMatch(/^\/dashboard\/tasks\?status=PENDING&name=send_email&from=.*&cursor=/);
		const second = await get(older ?? "");
		expect(await attributes(second, "tbody a", "href")).toHaveLength(4);
		expect(await attributes(second, "a[rel=next]", "href")).toEqual([]);

		const failed = await get(`/dashboard/tasks?status=FAILURE&${window}`);
		expect(await attributes(failed, "tbody a", "href")).toEqual([`/dashboard/tasks/${rows[3]?.id}`]);
		expect(await texts(failed, "tbody td:nth-child(2)")).toEqual(["FAILURE"]);
	});

	it("treats empty fields as 'any' and names a bad one on an HTML page", async () => {
		expect(await texts(await get("/dashboard/tasks?status=&name=&from=&to="), "h1")).toEqual(["Tasks"]);
		const body = await get("/dashboard/tasks?status=DONE&from=yesterday", 400);
		const problems = await texts(body, "main li");
		expect(problems).toContain("status must be one of the task states");
		expect(problems).toContain("from must be a date and time such as 2026-11-24T09:30");
		expect((await get("/dashboard/tasks?cursor=garbage", 400)).length).toBeGreaterThan(0);
	});
});

describe("task detail", () => {
	it("shows a task still on the queue as PENDING, and 404 for an id that cannot be one", async () => {
		const id = await mintTaskId(); // minted now, no row: as if its message were still on the queue
		const body = await get(`/dashboard/tasks/${id}`);
		expect(await texts(body, "h1")).toEqual([`(on the queue, not yet seen) ${id}`]);
		expect(body).toContain("PENDING");
		await get(`/dashboard/tasks/${crypto.randomUUID()}`, 404);
		await get(`/dashboard/tasks/${v7()}`, 404); // well-formed and recent, but not one this deployment minted
	});

	it("shows the timeline with each retry's error and delay, attempts, the error and a truncated email body", async () => {
		vi.spyOn(Math, "random").mockReturnValue(0.999_999);
		vi.spyOn(env.MAILER, "send")
			.mockRejectedValueOnce(new Error("SMTP 421: try again later"))
			.mockRejectedValueOnce(new Error("timeout"));
		const task = await recorded("send_email", { recipient: "ada@example.com", subject: "Hi", body: "b".repeat(1000) });
		await deliver([task], { attempts: 1 });
		await deliver([task], { attempts: 2 });

		const retrying = await get(`/dashboard/tasks/${task.id}`);
		const timeline = await texts(retrying, "ol.timeline li");
		expect(timeline[0]).toMatch(/UTC Created$/);
		expect(timeline).toContainEqual(expect.stringMatching(/Attempt 1 failed SMTP 421: try again later — retrying in 5 s$/));
		expect(timeline).toContainEqual(expect.stringMatching(/Attempt 2 failed timeout — retrying in 10 s$/));
		expect(timeline).toContainEqual(expect.stringMatching(/Next attempt due$/));
		expect(await texts(retrying, "dl.facts dd")).toEqual(["RETRY", "2"]);
		expect(await texts(retrying, "pre")).toContainEqual("timeout");
		const payload = (await texts(retrying, "pre")).at(-1);
		expect(payload).toContain(`"body": "${"b".repeat(200)}… (800 more characters)"`);
		expect(await texts(retrying, "button")).toEqual(["Sign out", "Revoke task"]);

		await deliver([task], { attempts: 3 });
		const done = await get(`/dashboard/tasks/${task.id}`);
		expect((await texts(done, "ol.timeline li")).at(-1)).toMatch(/Finished: SUCCESS$/);
		expect(await texts(done, "pre")).toContainEqual('"Email sent to ada@example.com"');
		expect(await texts(done, "button")).toEqual(["Sign out"]);
	});

	it("answers 404 pages for an unknown or malformed id", async () => {
		expect(await texts(await get(`/dashboard/tasks/${crypto.randomUUID()}`, 404), "[role=alert]")).toEqual(["Task not found"]);
		await get("/dashboard/tasks/not-a-uuid", 404);
	});
});

describe("revoke and retry buttons", () => {
	it("revoke a delayed task, then refuse to revoke it again", async () => {
		const res = await postJson("/send-email", { email: "ada@example.com", subject: "Later", body: "x", delay_seconds: 600 });
		const { task_id } = await res.json<{ task_id: string }>();

		const revoked = await submit(`/dashboard/tasks/${task_id}/revoke`, {}, { cookie });
		expect([revoked.status, revoked.headers.get("Location")]).toEqual([303, `/dashboard/tasks/${task_id}?notice=revoked`]);
		expect((await taskRow(task_id))?.status).toBe("REVOKED");
		const body = await get(`/dashboard/tasks/${task_id}?notice=revoked`);
		expect(await texts(body, "[role=status]")).toEqual(["Revoked. The task will not run; its message is acked when it arrives."]);
		expect(await texts(body, "button")).toEqual(["Sign out", "Retry as a new task"]);

		const again = await submit(`/dashboard/tasks/${task_id}/revoke`, {}, { cookie });
		expect(await texts(await html(again, 409), "[role=alert]")).toEqual([
			"Task is REVOKED; only PENDING or RETRY tasks can be revoked",
		]);
	});

	it("retry a failed task as a new task linked to it", async () => {
		const original = await fail("SMTP 550: mailbox unavailable");
		const res = await submit(`/dashboard/tasks/${original}/retry`, {}, { cookie });
		expect(res.status).toBe(303);
		const location = res.headers.get("Location") ?? "";
		const newId = location.match(/^\/dashboard\/tasks\/([0-9a-f-]{36})\?notice=retried$/)?.[1] ?? "";
		expect(await taskRow(newId)).toMatchObject({ name: "send_email", retryOf: original });
		const body = await get(location);
		expect(await texts(body, "ol.timeline li")).toContainEqual(expect.stringMatching(/Created as a retry of an earlier task$/));
		expect(await attributes(body, "dl.facts a", "href")).toEqual([`/dashboard/tasks/${original}`]);
	});
});

describe("a workflow's step", () => {
	it("links the task to its workflow and lists every step, this one marked", async () => {
		const { workflowId, taskIds } = await testContext().tasks.enqueueWorkflow(
			{
				chain: [
					{ task: sendEmail, input: { recipient: "a@example.com", subject: "Hi", body: "x" } },
					{ task: sendEmail, input: { recipient: "b@example.com", subject: "Hi" }, resultAs: "body" },
				],
			},
			{ delaySeconds: 600 },
		);
		const body = await get(`/dashboard/tasks/${taskIds[1]}`);
		expect(await texts(body, "#live > p")).toContainEqual(`A chain, PENDING: ${workflowId}`);
		expect(await attributes(body, "#live table a", "href")).toEqual(taskIds.map((id) => `/dashboard/tasks/${id}`));
		expect(await texts(body, 'tr[aria-current="step"]')).toEqual(["2 send_email PENDING"]);
	});
});

describe("assets", () => {
	it("serves the script, stylesheet and icon as static assets, before the Worker and without a session", async () => {
		for (const [name, type] of [
			["app.js", "text/javascript"],
			["style.css", "text/css"],
			["icon.svg", "image/svg+xml"],
		]) {
			// The platform answers these paths from src/static/ before the Worker runs
			// (the browser test loads them so); the ASSETS binding serves the same files.
			const res = await env.ASSETS.fetch(`https://edge-tasks.test/dashboard/assets/${name}`);
			expect(res.status).toBe(200);
			expect(res.headers.get("Content-Type")).toContain(type);
			const etag = res.headers.get("ETag") ?? "";
			expect(etag).not.toBe("");
			await res.arrayBuffer();
			const again = await env.ASSETS.fetch(`https://edge-tasks.test/dashboard/assets/${name}`, {
				headers: { "If-None-Match": etag },
			});
			expect(again.status).toBe(304);
		}
		// A path with no file reaches the Worker: the dashboard's 404, not its sign-in page.
		expect((await page("/dashboard/assets/nope.js", cookie)).status).toBe(404);
	});

	it("keeps every page within its CSP: no inline script or style", async () => {
		const res = await page("/dashboard", cookie);
		expect(res.headers.get("Content-Security-Policy")).toContain("script-src 'self'; style-src 'self'");
		expect(res.headers.get("Referrer-Policy")).toBe("same-origin");
		const body = await res.text();
		expect(await attributes(body, "script", "src")).toEqual(["/dashboard/assets/app.js"]);
		expect(body).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
	});
});
