// What a browser meets before any token: /docs runs only its pinned,
// hash-checked script and says what to read when its CDN is out of reach, and
// /favicon.ico is answered, not refused.
import { describe, expect, it } from "vitest";
import { SCALAR_INTEGRITY, SCALAR_URL } from "../../src/http/docs-page";
import { attributes } from "./dashboard-helpers";
import { call } from "./helpers";

const anonymous = { Authorization: "" };

describe("/docs without its CDN", () => {
	it("shows a link to /openapi.json and why, inside the element Scalar replaces", async () => {
		const res = await call("/docs", { headers: anonymous });
		expect(res.status).toBe(200);
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

const sha256 = async (text: string) =>
	`'sha256-${btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)))))}'`;

describe("/docs's Content-Security-Policy and SRI", () => {
	it("runs the pinned Scalar file and the page's own inline script, nothing else", async () => {
		const res = await call("/docs", { headers: anonymous });
		const policy = directives(res.headers.get("Content-Security-Policy") ?? "");
		const page = await res.text();
		const inline = [...page.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1] ?? "");
		expect(inline).toHaveLength(1);
		expect(policy.get("script-src")).toEqual([SCALAR_URL, await sha256(inline[0] ?? "")]);
		expect(SCALAR_URL).toMatch(/^https:\/\/cdn\.jsdelivr\.net\/npm\/@scalar\/api-reference@\d+\.\d+\.\d+\/[\w/.-]+\.js$/);
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
	});

	it("loads that file with its SRI hash, so a changed copy does not run", async () => {
		const page = await (await call("/docs", { headers: anonymous })).text();
		expect(await attributes(page, "script[src]", "src")).toEqual([SCALAR_URL]);
		expect(await attributes(page, "script[src]", "integrity")).toEqual([SCALAR_INTEGRITY]);
		expect(await attributes(page, "script[src]", "crossorigin")).toEqual(["anonymous"]);
		expect(SCALAR_INTEGRITY).toMatch(/^sha384-[A-Za-z0-9+/]{64}$/);
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
