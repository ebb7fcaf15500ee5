// What a browser meets before any token: /docs says what to read when its CDN
// is out of reach, and /favicon.ico is answered, not refused.
import { describe, expect, it } from "vitest";
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
