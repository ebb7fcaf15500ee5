// What a browser meets before any token: /docs (a static asset, served by the
// platform before the Worker; read here through the ASSETS binding, which
// serves the same files with the same _headers) runs only its pinned,
// hash-checked script and this origin's, and says what to read when its CDN is
// out of reach; /favicon.ico is answered, not refused.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { attributes } from "./dashboard-helpers";
import { call } from "./helpers";

const anonymous = { Authorization: "" };
const docs = () => env.ASSETS.fetch("https://edge-tasks.test/docs");

describe("/docs without its CDN", () => {
	it("shows a link to /openapi.json and why, inside the element Scalar replaces", async () => {
		const res = await docs();
		expect(res.status).toBe(200);
		expect(res.headers.get("Content-Type")).toContain("text/html");
		const page = await res.text();
		const mountPoint = page.match(/<div id="app">([\s\S]*?)<\/div>/)?.[1] ?? "";
		expect(mountPoint).toContain('<a href="/openapi.json">/openapi.json</a>');
		expect(mountPoint).toContain("The interactive reference loads from cdn.jsdelivr.net; if it does not appear");
	});
});

/** The policy's directives by name. */
const directives = (policy: string) =>
	new Map(
		policy
			.split(";")
			.map((d) => d.trim().split(/\s+/))
			.map(([name = "", ...values]) => [name, values]),
	);

describe("/docs's Content-Security-Policy and SRI", () => {
	it("runs the pinned Scalar file and this origin's docs.js, nothing else, not even inline", async () => {
		const res = await docs();
		const policy = directives(res.headers.get("Content-Security-Policy") ?? "");
		const page = await res.text();
		const [scalar = ""] = await attributes(page, "script[integrity]", "src");
		expect(await attributes(page, "script", "src")).toEqual([scalar, "/docs.js"]);
		expect(page).not.toMatch(/<script>/);
		expect(policy.get("script-src")).toEqual([scalar, "'self'"]);
		expect(scalar).toMatch(/^https:\/\/cdn\.jsdelivr\.net\/npm\/@scalar\/api-reference@\d+\.\d+\.\d+\/[\w/.-]+\.js$/);
		expect(policy.get("default-src")).toEqual(["'none'"]);
		expect(policy.has("script-src-elem") || policy.has("script-src-attr") || policy.has("worker-src")).toBe(false);
		expect(policy.get("connect-src")).toEqual(["'self'"]);
		expect(policy.get("frame-ancestors")).toEqual(["'none'"]);
		expect(policy.get("base-uri")).toEqual(["'none'"]);
		expect(policy.get("form-action")).toEqual(["'none'"]);
		for (const values of policy.values()) {
			expect(values).not.toContain("'unsafe-eval'");
			expect(values.filter((v) => v.includes("*") || v === "https:" || v === "http:")).toEqual([]);
		}
		const mount = await env.ASSETS.fetch("https://edge-tasks.test/docs.js");
		expect(mount.headers.get("Content-Type")).toContain("javascript");
		expect(await mount.text()).toContain('createApiReference("#app", { url: "/openapi.json"');
	});

	it("loads that file with its SRI hash, so a changed copy does not run", async () => {
		const page = await (await docs()).text();
		expect(await attributes(page, "script[integrity]", "crossorigin")).toEqual(["anonymous"]);
		const [integrity = ""] = await attributes(page, "script[integrity]", "integrity");
		expect(integrity).toMatch(/^sha384-[A-Za-z0-9+/]{64}$/);
	});
});

describe("/favicon.ico", () => {
	it("answers 204 with no body and no token", async () => {
		for (const method of ["GET", "HEAD"]) {
			const res = await call("/favicon.ico", { method, headers: anonymous });
			expect(res.status, method).toBe(204);
			expect(await res.text(), method).toBe("");
		}
	});

	it("answers another method with 405 and Allow, not 401", async () => {
		const res = await call("/favicon.ico", { method: "POST", headers: anonymous });
		expect(res.status).toBe(405);
		expect(res.headers.get("Allow")).toBe("GET, HEAD");
		expect(await res.json()).toMatchObject({ error: { code: "method_not_allowed" } });
	});
});
