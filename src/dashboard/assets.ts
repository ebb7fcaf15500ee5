// Static files of the dashboard, served by the Worker itself. URLs carry a
// hash of the content (?v=...), so browsers may cache them for a year and
// still pick up a new deploy at once.
import { Hono } from "hono/tiny";
import { notFound } from "../errors";
import type { AppEnv } from "../http/app-env";
import { script } from "./assets/script";
import { style } from "./assets/style";

const icon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0969da"/><path d="M4 8.5l2.5 2.5L12 5" stroke="#fff" stroke-width="2" fill="none"/></svg>`;

const files = {
	"style.css": { type: "text/css; charset=utf-8", body: style },
	"app.js": { type: "text/javascript; charset=utf-8", body: script },
	"icon.svg": { type: "image/svg+xml", body: icon },
} as const;
type AssetName = keyof typeof files;

/** FNV-1a, 32 bits: a short, stable fingerprint of a file's text. */
function fingerprint(text: string): string {
	let hash = 0x811c9dc5;
	for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
	return (hash >>> 0).toString(36);
}

const versions = Object.fromEntries(Object.entries(files).map(([name, file]) => [name, fingerprint(file.body)]));

export const assetUrl = (name: AssetName) => `/dashboard/assets/${name}?v=${versions[name]}`;

const isAsset = (name: string): name is AssetName => Object.hasOwn(files, name);

export const assets = new Hono<AppEnv>();

assets.get("/:name", (c) => {
	const name = c.req.param("name");
	if (!isAsset(name)) throw notFound("File");
	const current = c.req.query("v") === versions[name];
	return c.body(files[name].body, 200, {
		"Content-Type": files[name].type,
		// A stale or missing version must not pin an old copy in caches.
		"Cache-Control": current ? "public, max-age=31536000, immutable" : "no-cache",
	});
});
