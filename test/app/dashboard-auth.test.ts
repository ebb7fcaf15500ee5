// Signing in to the dashboard: the session cookie, what it refuses (tampering,
// expiry, revoked tokens, cross-site forms), and where it sends the browser.
import { env } from "cloudflare:workers";
import { generateSignedCookie } from "hono/cookie";
import { afterEach, describe, expect, it, vi } from "vitest";
import { safeNext } from "../../src/dashboard/session";

import { cookieFrom, html, page, SESSION, signIn, someAddress, submit, texts } from "./dashboard-helpers";
import { call, postJson, recorded, TOKENS, taskRow } from "./helpers";

afterEach(() => vi.restoreAllMocks());

/** A cookie signed as the Worker would sign it, with any value. */
async function forged(value: string, secret = env.SESSION_SECRET): Promise<string> {
	const header = await generateSignedCookie("edge_tasks_session", value, secret, { prefix: "host", path: "/" });
	return header.split(";")[0] ?? "";
}

const idOf = (cookie: string) => decodeURIComponent(cookie).match(/tok_[0-9a-f]{12}/)?.[0] ?? "";

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

	it("trades a valid token for a signed, HttpOnly, Secure, SameSite=Strict cookie holding its id, not the token", async () => {
		const res = await submit("/dashboard/login", { token: TOKENS.main, next: "/dashboard/tasks?status=FAILURE" });
		expect(res.status).toBe(303);
		expect(res.headers.get("Location")).toBe("/dashboard/tasks?status=FAILURE");
		const header = res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION}=`)) ?? "";
		expect(header).toMatch(/; Max-Age=28800; Path=\/; HttpOnly; Secure; SameSite=Strict$/);
		expect(header).not.toContain(TOKENS.main);
		expect(idOf(header)).toMatch(/^tok_[0-9a-f]{12}$/);

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
	])("answers a %s SESSION_SECRET with an HTML config error naming it; the API with JSON", async (_case, secret) => {
		const broken = { ...env, SESSION_SECRET: secret } as unknown as Env;
		const body = await html(await page("/dashboard/login", undefined, broken), 500);
		expect((await texts(body, "[role=alert]"))[0]).toMatch(/^Invalid Worker configuration: SESSION_SECRET: /);
		const res = await call("/tasks", {}, broken);
		expect(await res.json()).toMatchObject({
			error: { code: "config_error", message: expect.stringContaining("SESSION_SECRET") },
		});
	});
});

describe("dashboard sessions", () => {
	it("rejects a tampered cookie and clears it", async () => {
		const cookie = await signIn();
		const [name, value = ""] = cookie.split("=");
		const otherId = value.replace(/tok_[0-9a-f]/, (m) => `${m.slice(0, 4)}${m[4] === "0" ? "1" : "0"}`);
		for (const bad of [`${name}=${otherId}`, `${name}=${value.slice(0, -6)}AAAA%3D`, `${name}=tok_000000000000:9999999999999`]) {
			const res = await page("/dashboard", bad);
			expect(res.status, bad).toBe(302);
			expect(res.headers.get("Location")).toBe("/dashboard/login");
			expect(res.headers.getSetCookie().join()).toMatch(new RegExp(`^${SESSION}=; Max-Age=0; Path=/`));
		}
	});

	it("rejects a cookie signed with another secret, an expired one, and one for a token no longer configured", async () => {
		const id = idOf(await signIn());
		const later = Date.now() + 3600_000;
		expect((await page("/dashboard", await forged(`${id}:${later}`))).status).toBe(200);
		expect((await page("/dashboard", await forged(`${id}:${later}`, "another-secret-0123456789abcdef0123"))).status).toBe(302);
		expect((await page("/dashboard", await forged(`${id}:${Date.now() - 1000}`))).status).toBe(302);

		const cookie = await signIn(TOKENS.rotated);
		const rotatedOut = { ...env, API_TOKENS: TOKENS.main };
		const res = await page("/dashboard", cookie, rotatedOut);
		expect([res.status, res.headers.get("Location")]).toEqual([302, "/dashboard/login"]);
	});

	it("signs out with a POST that clears the cookie", async () => {
		const cookie = await signIn();
		const res = await submit("/dashboard/logout", {}, { cookie });
		expect([res.status, res.headers.get("Location")]).toEqual([303, "/dashboard/login"]);
		expect(res.headers.getSetCookie().join()).toMatch(
			new RegExp(`^${SESSION}=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Strict`),
		);
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
