// Signing in to the dashboard: the session cookie and its row, what it
// refuses (tampering, expiry, sign-out, revoked tokens, cross-site forms), and
// where it sends the browser.
import { env } from "cloudflare:workers";
import { eq, lte } from "drizzle-orm";
import { generateSignedCookie } from "hono/cookie";
import { afterEach, describe, expect, it, vi } from "vitest";
import { safeNext } from "../../src/dashboard/session";
import { dashboardSessions } from "../../src/db/schema";
import { tokenId } from "../../src/http/auth";
import { cookieFrom, html, page, SESSION, signIn, someAddress, submit, texts } from "./dashboard-helpers";
import { call, postJson, recorded, TOKENS, taskRow, testContext } from "./helpers";

afterEach(() => vi.restoreAllMocks());

/** A cookie signed as the Worker would sign it, with any value. */
async function forged(value: string, secret = env.SESSION_SECRET): Promise<string> {
	const header = await generateSignedCookie("edge_tasks_session", value, secret, { prefix: "host", path: "/" });
	return header.split(";")[0] ?? "";
}

/** The session id a cookie carries (before its signature). */
const sessionIdOf = (cookie: string) => decodeURIComponent(cookie.slice(cookie.indexOf("=") + 1)).split(".")[0] ?? "";

const sessionRow = (id: string) => testContext().db.select().from(dashboardSessions).where(eq(dashboardSessions.id, id)).get();

describe("dashboard sign-in", () => {
	it("sends a browser without a session to sign in, keeping where it was going", async () => {
		expect((await page("/dashboard")).headers.get("Location")).toBe("/dashboard/login");
		const res = await page("/dashboard/tasks?status=FAILURE");
		expect(res.status).toBe(302);
		expect(res.headers.get("Location")).toBe("/dashboard/login?next=%2Fdashboard%2Ftasks%3Fstatus%3DFAILURE");
		expect((await page("/dashboard/no-such-page")).status).toBe(302);
		const post = await submit(`/dashboard/tasks/${crypto.randomUUID()}/revoke`, {});
		expect([post.status, post.headers.get("Location")]).toEqual([303, "/dashboard/login"]);
	});

	it("shows a labelled token field and no token", async () => {
		const body = await html(await page("/dashboard/login?next=%2Fdashboard%2Ftasks"));
		expect(await texts(body, "label[for=token]")).toEqual(["API token"]);
		expect(body).toContain('id="token" name="token" type="password"');
		expect(body).toContain('name="next" value="/dashboard/tasks"');
		expect(body).not.toContain(TOKENS.main);
	});

	it("trades a valid token for a session row and a signed, HttpOnly, Secure, SameSite=Strict cookie naming it", async () => {
		const started = Date.now();
		const res = await submit("/dashboard/login", { token: TOKENS.main, next: "/dashboard/tasks?status=FAILURE" });
		expect(res.status).toBe(303);
		expect(res.headers.get("Location")).toBe("/dashboard/tasks?status=FAILURE");
		const header = res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION}=`)) ?? "";
		expect(header).toMatch(/; Max-Age=28800; Path=\/; HttpOnly; Secure; SameSite=Strict$/);
		expect(header).not.toContain(TOKENS.main);
		const id = sessionIdOf(header);
		expect(id).toMatch(/^[0-9a-f]{64}$/);
		const row = await sessionRow(id);
		expect(row?.tokenId).toBe(await tokenId(TOKENS.main));
		expect(row?.expiresAt.getTime()).toBeGreaterThanOrEqual(started + 8 * 3600_000);
		expect(row?.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 8 * 3600_000);

		const overview = await page("/dashboard", cookieFrom(res));
		expect(await texts(await html(overview), "h1")).toEqual(["Overview"]);
	});

	it("refuses a wrong token with an alert on the form, no cookie and no token in the page or the logs", async () => {
		const lines: string[] = [];
		for (const method of ["log", "warn", "error"] as const) {
			vi.spyOn(console, method).mockImplementation((line: unknown) => void lines.push(String(line)));
		}
		const res = await submit("/dashboard/login", { token: "wrong-token-0123456789", next: "/dashboard" });
		const body = await html(res, 401);
		expect(await texts(body, "[role=alert]")).toEqual(["That token is not valid. Check it and try again."]);
		expect(body).toContain('aria-invalid="true"');
		expect(res.headers.getSetCookie()).toEqual([]);
		expect(body + lines.join("\n")).not.toContain("wrong-token-0123456789");
	});

	it("limits sign-in attempts per address", async () => {
		const address = someAddress();
		let res: Response | undefined;
		for (let i = 0; i < 20; i++) {
			res = await submit("/dashboard/login", { token: "wrong-token-0123456789" }, { address });
			if (res.status === 429) break;
			expect(res.status).toBe(401);
		}
		expect(res?.headers.get("Retry-After")).toBe("60");
		expect(await texts(await html(res as Response, 429), "[role=alert]")).toEqual([
			"Too many sign-in attempts from your address. Wait a minute, then try again.",
		]);
		// Even the right token waits; other addresses do not.
		expect((await submit("/dashboard/login", { token: TOKENS.main }, { address })).status).toBe(429);
		expect((await submit("/dashboard/login", { token: TOKENS.main })).status).toBe(303);
	});

	it.each([
		["https://evil.example/", "/dashboard"],
		["//evil.example/dashboard", "/dashboard"],
		["/dashboard\\@evil.example", "/dashboard"],
		["/dashboard/../admin", "/dashboard"],
		["/dashboardx", "/dashboard"],
		["/dashboard/login", "/dashboard"],
		["/tasks", "/dashboard"],
		["/dashboard/tasks?status=FAILURE&name=send_email", "/dashboard/tasks?status=FAILURE&name=send_email"],
		["/dashboard/tasks/6f1c0000-0000-4000-8000-000000000000", "/dashboard/tasks/6f1c0000-0000-4000-8000-000000000000"],
	])("sends next=%s to %s", async (next, expected) => {
		expect(safeNext(next)).toBe(expected);
		const res = await submit("/dashboard/login", { token: TOKENS.main, next });
		expect(res.headers.get("Location")).toBe(expected);
	});
});

describe("dashboard configuration", () => {
	it.each([
		["missing", undefined],
		["short", "too-short"],
	])("answers a %s SESSION_SECRET with an HTML config error, the API with JSON; only the log names it", async (_case, secret) => {
		const logged = vi.spyOn(console, "error").mockImplementation(() => {});
		const broken = { ...env, SESSION_SECRET: secret } as unknown as Env;
		const body = await html(await page("/dashboard/login", undefined, broken), 500);
		expect((await texts(body, "[role=alert]"))[0]).toMatch(/^The Worker is misconfigured; the log has the details \(request id /);
		expect(body).not.toContain("SESSION_SECRET");
		const res = await call("/tasks", {}, broken);
		const json = await res.json<{ error: { code: string; message: string; request_id: string } }>();
		expect(json.error.code).toBe("config_error");
		expect(JSON.stringify(json)).not.toContain("SESSION_SECRET");
		const lines = logged.mock.calls.map(([line]) => JSON.parse(String(line)));
		expect(lines.filter((l) => l.msg === "misconfigured worker")).toEqual([
			expect.objectContaining({ error: expect.stringContaining("SESSION_SECRET: ") }),
			expect.objectContaining({ request_id: json.error.request_id, error: expect.stringContaining("SESSION_SECRET: ") }),
		]);
	});
});

describe("dashboard sessions", () => {
	it("rejects a tampered cookie and clears it", async () => {
		const cookie = await signIn();
		const [name, value = ""] = cookie.split("=");
		const otherId = `${value[0] === "0" ? "1" : "0"}${value.slice(1)}`;
		for (const bad of [`${name}=${otherId}`, `${name}=${value.slice(0, -6)}AAAA%3D`, `${name}=${sessionIdOf(cookie)}`]) {
			const res = await page("/dashboard", bad);
			expect(res.status, bad).toBe(302);
			expect(res.headers.get("Location")).toBe("/dashboard/login");
			expect(res.headers.getSetCookie().join()).toMatch(new RegExp(`^${SESSION}=; Max-Age=0; Path=/`));
		}
	});

	it("rejects a cookie signed with another secret, one naming no session, and an expired session", async () => {
		const id = sessionIdOf(await signIn());
		expect((await page("/dashboard", await forged(id))).status).toBe(200);
		expect((await page("/dashboard", await forged(id, "another-secret-0123456789abcdef0123"))).status).toBe(302);
		// The secret alone makes no session: the row must exist.
		expect((await page("/dashboard", await forged("ab".repeat(32)))).status).toBe(302);

		await testContext()
			.db.update(dashboardSessions)
			.set({ expiresAt: new Date(Date.now() - 1000) })
			.where(eq(dashboardSessions.id, id));
		expect((await page("/dashboard", await forged(id))).status).toBe(302);
	});

	it("ends every session of a token removed from API_TOKENS, and keeps the others", async () => {
		const rotated = await signIn(TOKENS.rotated);
		const main = await signIn(TOKENS.main);
		const rotatedOut = { ...env, API_TOKENS: TOKENS.main };
		const res = await page("/dashboard", rotated, rotatedOut);
		expect([res.status, res.headers.get("Location")]).toEqual([302, "/dashboard/login"]);
		expect((await page("/dashboard", main, rotatedOut)).status).toBe(200);
	});

	it("signs out with a POST that clears the cookie and ends the session: the old cookie opens nothing", async () => {
		const cookie = await signIn();
		const other = await signIn();
		expect((await page("/dashboard", cookie)).status).toBe(200);
		const res = await submit("/dashboard/logout", {}, { cookie });
		expect([res.status, res.headers.get("Location")]).toEqual([303, "/dashboard/login"]);
		expect(res.headers.getSetCookie().join()).toMatch(
			new RegExp(`^${SESSION}=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Strict`),
		);

		// A browser (or a thief) that kept the cookie is sent to sign in.
		const after = await page("/dashboard", cookie);
		expect([after.status, after.headers.get("Location")]).toEqual([302, "/dashboard/login"]);
		expect(await sessionRow(sessionIdOf(cookie))).toBeUndefined();
		// Another sign-in with the same token is a session of its own.
		expect((await page("/dashboard", other)).status).toBe(200);
	});

	it("deletes expired sessions as others sign in, at most 100 at a time", async () => {
		const { db } = testContext();
		const long = new Date(Date.now() - 86_400_000);
		const expired = Array.from({ length: 150 }, (_, i) => ({
			id: `${"e".repeat(60)}${String(i).padStart(4, "0")}`,
			tokenId: "tok_000000000000",
			createdAt: long,
			expiresAt: long,
		}));
		for (let i = 0; i < expired.length; i += 10) await db.insert(dashboardSessions).values(expired.slice(i, i + 10));
		const left = async () =>
			(await db.select().from(dashboardSessions).where(lte(dashboardSessions.expiresAt, new Date()))).length;
		const before = await left();
		expect(before).toBeGreaterThanOrEqual(150);
		await signIn();
		expect(await left()).toBe(before - 100);
		await signIn();
		await signIn();
		expect(await left()).toBe(0);
	});

	it("is not an API credential: the API still wants a bearer token and answers JSON", async () => {
		const cookie = await signIn();
		const res = await call("/tasks", { headers: { Authorization: "", Cookie: cookie } });
		expect(res.status).toBe(401);
		expect(await res.json()).toMatchObject({ error: { code: "unauthorized" } });
	});
});

describe("dashboard CSRF protection", () => {
	it("refuses state changes posted from another origin, with an HTML page, and changes nothing", async () => {
		const cookie = await signIn();
		const task = await recorded("process_user_data", { user_id: 1 });
		for (const origin of ["https://evil.example", null]) {
			const res = await submit(`/dashboard/tasks/${task.id}/revoke`, {}, { cookie, origin });
			expect(await texts(await html(res, 403), "[role=alert]")).toEqual(["Cross-site form submission refused"]);
			expect((await submit("/dashboard/logout", {}, { cookie, origin })).status).toBe(403);
			expect((await submit("/dashboard/login", { token: TOKENS.main }, { origin })).status).toBe(403);
		}
		expect((await taskRow(task.id))?.status).toBe("PENDING");
	});

	it("accepts a same-origin post identified by Sec-Fetch-Site alone", async () => {
		const res = await call("/dashboard/login", {
			method: "POST",
			headers: { Authorization: "", "Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "same-origin" },
			body: new URLSearchParams({ token: TOKENS.main }).toString(),
		});
		expect(res.status).toBe(303);
	});

	it("leaves the API's JSON routes to their bearer token", async () => {
		const res = await postJson("/send-email", {}, { Origin: "https://evil.example" });
		expect(res.status).toBe(400);
		expect(res.headers.get("Content-Type")).toMatch(/json/);
	});
});
