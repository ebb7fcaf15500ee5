// npm run client: the published API description and the typed client's types.
// Hosts the Worker (bench/host.ts: wrangler's bundle in Miniflare, on
// loopback), reads the description its routes build at /openapi.json into
// src/static/openapi.published.json (what production serves at /openapi.json),
// and turns it into examples/client/api.d.ts with openapi-typescript. With
// --check (CI), writes nothing and exits 1 if either committed file is stale,
// or if the production build does not serve the published file.
//
// openapi-typescript runs through npx with TypeScript 5 beside it: it drives
// TypeScript's JavaScript API, which TypeScript 7 (this project's compiler)
// no longer has, so it cannot be a devDependency next to it.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ROOT, startHost } from "../../bench/host.ts";

const OPENAPI_TYPESCRIPT = ["-y", "-p", "openapi-typescript@7.13.0", "-p", "typescript@5.9.3", "openapi-typescript"];
const check = process.argv.includes("--check");
const committed = {
	spec: path.join(ROOT, "src/static/openapi.published.json"),
	types: path.join(ROOT, "examples/client/api.d.ts"),
};
const out = check ? mkdtempSync(path.join(tmpdir(), "edge-tasks-client-")) : undefined;
const target = out ? { spec: path.join(out, "openapi.json"), types: path.join(out, "api.d.ts") } : committed;

const host = await startHost("src/index.ts");
try {
	const res = await fetch(new URL("/openapi.json", host.url));
	if (!res.ok) throw new Error(`GET /openapi.json answered ${res.status}`);
	writeFileSync(target.spec, `${JSON.stringify(await res.json(), null, "\t")}\n`);
} finally {
	await host.dispose();
}
execFileSync("npx", [...OPENAPI_TYPESCRIPT, target.spec, "-o", target.types], { cwd: ROOT, stdio: "ignore" });

if (check) {
	const stale = (["spec", "types"] as const).filter(
		(k) => readFileSync(target[k], "utf8") !== readFileSync(committed[k], "utf8"),
	);
	if (stale.length > 0) {
		console.error(
			`stale: ${stale.map((k) => path.relative(ROOT, committed[k])).join(", ")}; run npm run client and commit the result`,
		);
		process.exit(1);
	}
	// Production builds without the live document: its /openapi.json must be the published file.
	const production = await startHost("src/index.ts", { buildEnv: "production", assetRouter: true });
	try {
		const served = await (await fetch(new URL("/openapi.json", production.url))).text();
		if (served !== readFileSync(committed.spec, "utf8")) {
			console.error("the production build's /openapi.json is not src/static/openapi.published.json");
			process.exit(1);
		}
	} finally {
		await production.dispose();
	}
	console.log("client: the published description and examples/client/api.d.ts are up to date, and production serves the former");
} else {
	console.log(`client: wrote ${path.relative(ROOT, committed.spec)} and ${path.relative(ROOT, committed.types)}`);
}
