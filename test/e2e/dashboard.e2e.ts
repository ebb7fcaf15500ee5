// The dashboard in a real browser: Debian's chromium driven by playwright-core
// against the bundled Worker in Miniflare on loopback (bench/host.ts). Signs in
// with the keyboard, watches an enqueued task reach SUCCESS, revokes a delayed
// task, opens a failed task's timeline, checks phone width and dark mode, and
// fails on any console error (CSP violations included). Screenshots go to
// test/e2e/screenshots/; with E2E_DOCS_SCREENSHOT=1 the overview also goes to
// docs/dashboard.png. Run with `npm run test:e2e`.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { type Host, ROOT, startHost, TOKEN } from "../../bench/host.ts";
import { seedLastHour } from "./seed.ts";

const SHOTS = path.join(ROOT, "test/e2e/screenshots");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
// Every wait is bounded; the whole run takes well under a minute.
const WAIT = { timeout: 15_000 };

let host: Host;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const consoleErrors: string[] = [];

const url = (route: string) => new URL(route, host.url).toString();

/** An API call with the bearer token, as a client would make it. */
async function api(route: string, body: unknown): Promise<{ task_id: string }> {
	const res = await fetch(url(route), {
		method: "POST",
		headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
		body: JSON.stringify(body),
	});
	assert.equal(res.status, 202, await res.clone().text());
	return (await res.json()) as { task_id: string };
}

const stateOnPage = () => page.locator("dl.facts .badge").textContent();

function watch(p: Page): Page {
	p.on("console", (message) => {
		if (message.type() === "error") consoleErrors.push(`${p.url()}: ${message.text()}`);
	});
	p.on("pageerror", (error) => consoleErrors.push(`${p.url()}: ${error.message}`));
	return p;
}

let seeded: Awaited<ReturnType<typeof seedLastHour>>;

before(async () => {
	mkdirSync(SHOTS, { recursive: true });
	[host, browser] = await Promise.all([
		// The dashboard's script, stylesheet and icon are static assets: served as wrangler dev serves them.
		startHost(path.join(ROOT, "src/index.ts"), { assetRouter: true }),
		chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox"] }),
	]);
	seeded = await seedLastHour(host.db);
	context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: "light" });
	page = watch(await context.newPage());
});

after(async () => {
	await context?.close();
	await browser?.close();
	await host?.dispose();
});

test("the dashboard in a browser", { timeout: 60_000 }, async (t) => {
	await t.test("signs in with the keyboard and gets a __Host- session cookie", async () => {
		await page.goto(url("/dashboard/tasks?status=FAILURE"));
		assert.match(page.url(), /\/dashboard\/login\?next=%2Fdashboard%2Ftasks%3Fstatus%3DFAILURE$/);
		await page.keyboard.press("Tab");
		assert.equal(await page.evaluate("document.activeElement.textContent"), "Skip to content");
		await page.getByLabel("API token").fill("not-the-token-0123456789");
		await page.keyboard.press("Enter");
		await page.getByRole("alert").waitFor(WAIT);
		assert.equal(await page.getByRole("alert").textContent(), "That token is not valid. Check it and try again.");
		// The refusal is a 401, which Chromium reports on the console; it is the only error expected.
		assert.deepEqual(consoleErrors.splice(0), [
			`${url("/dashboard/login")}: Failed to load resource: the server responded with a status of 401 (Unauthorized)`,
		]);

		await page.getByLabel("API token").fill(TOKEN);
		await page.keyboard.press("Enter");
		await page.waitForURL(/\/dashboard\/tasks\?status=FAILURE$/, WAIT);
		const [cookie] = await context.cookies();
		assert.equal(cookie?.name, "__Host-edge_tasks_session");
		assert.deepEqual([cookie?.httpOnly, cookie?.secure, cookie?.sameSite, cookie?.path], [true, true, "Strict", "/"]);
		assert.ok(!cookie?.value.includes(TOKEN));
	});

	await t.test("watches an enqueued task reach SUCCESS", async () => {
		const { task_id } = await api("/send-email", { email: "ada@example.com", subject: "Hi", body: "Hello", delay_seconds: 1 });
		await page.goto(url(`/dashboard/tasks/${task_id}`));
		assert.equal(await stateOnPage(), "PENDING");
		assert.ok(await page.getByLabel("Auto-refresh every 5 s").isChecked());
		// No reload: the auto-refresh brings the new state in.
		await page.locator("dl.facts .badge", { hasText: "SUCCESS" }).waitFor(WAIT);
		assert.match((await page.locator("ol.timeline li").last().textContent()) ?? "", /Finished: SUCCESS/);
	});

	await t.test("revokes a delayed task", async () => {
		const { task_id } = await api("/send-email", { email: "ada@example.com", subject: "Later", body: "x", delay_seconds: 600 });
		await page.goto(url(`/dashboard/tasks/${task_id}`));
		await page.getByRole("button", { name: "Revoke task" }).click();
		await page.waitForURL(/\?notice=revoked$/, WAIT);
		assert.equal(await stateOnPage(), "REVOKED");
		assert.match((await page.getByRole("status").textContent()) ?? "", /^Revoked\./);
	});

	await t.test("opens a failed task's timeline", async () => {
		await page.goto(url(`/dashboard/tasks/${seeded.failedWithRetries}`));
		assert.equal(await stateOnPage(), "FAILURE");
		const timeline = await page.locator("ol.timeline li").allTextContents();
		assert.ok(
			timeline.some((line) => /Attempt 1 failed.*retrying in \d+ s/.test(line)),
			timeline.join("\n"),
		);
		assert.ok(
			timeline.some((line) => /Attempt 4 failed.*SMTP 421/.test(line)),
			timeline.join("\n"),
		);
		assert.match((await page.locator("pre").last().textContent()) ?? "", /more characters\)/);
		await page.screenshot({ path: path.join(SHOTS, "task-detail.png"), fullPage: true });
	});

	await t.test("shows the overview with counts, charts and failures", async () => {
		await page.goto(url("/dashboard"));
		const cards = await page.locator(".card").allTextContents();
		assert.ok(
			cards.some((c) => /Waiting \(PENDING\)\s*3/.test(c)),
			cards.join(" | "),
		);
		assert.ok(
			cards.some((c) => /Oldest due task waiting\s*2 min/.test(c)),
			cards.join(" | "),
		);
		assert.equal(await page.locator("svg.chart").count(), 2);
		assert.ok((await page.locator("section[aria-labelledby=failures-heading] tbody tr").count()) > 0);
		await page.screenshot({ path: path.join(SHOTS, "overview.png"), fullPage: true });
		if (process.env.E2E_DOCS_SCREENSHOT) {
			await page.screenshot({ path: path.join(SHOTS, "dashboard.png") });
			mkdirSync(path.join(ROOT, "docs"), { recursive: true });
			copyFileSync(path.join(SHOTS, "dashboard.png"), path.join(ROOT, "docs/dashboard.png"));
		}
	});

	await t.test("fits a phone-width screen and follows a dark browser theme", async () => {
		const phone = watch(await context.newPage());
		await phone.setViewportSize({ width: 375, height: 800 });
		await phone.emulateMedia({ colorScheme: "dark" });
		for (const route of ["/dashboard", "/dashboard/tasks", `/dashboard/tasks/${seeded.failedWithRetries}`]) {
			await phone.goto(url(route));
			assert.ok(await phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), `${route} scrolls sideways`);
		}
		assert.equal(await phone.evaluate("getComputedStyle(document.body).backgroundColor"), "rgb(13, 17, 23)");
		await phone.goto(url("/dashboard"));
		await phone.screenshot({ path: path.join(SHOTS, "overview-phone-dark.png"), fullPage: true });
		await phone.close();
	});

	await t.test("signs out", async () => {
		await page.getByRole("button", { name: "Sign out" }).click();
		await page.waitForURL(/\/dashboard\/login$/, WAIT);
		await page.goto(url("/dashboard"));
		assert.match(page.url(), /\/dashboard\/login$/);
	});

	assert.deepEqual(consoleErrors, []);
});
