// /docs: Scalar's API reference, loaded from jsDelivr. The page shares its
// origin with the dashboard, so a tampered CDN copy could post to the
// dashboard with the session cookie: the script is pinned by URL in the CSP
// and by hash with SRI, and the CSP allows nothing else to run.
import type { Context } from "hono";

// Scalar's standalone browser build, a classic script that defines
// window.Scalar and loads nothing else. (The ESM entry imports lazy chunks,
// and SRI covers only a <script src>, not what a module imports.) jsDelivr
// serves the file as the npm package ships it. To recompute the hash after
// changing the version, outside the repository:
//   npm pack @scalar/api-reference@1.72.1 && tar xzf scalar-api-reference-1.72.1.tgz &&
//   echo "sha384-$(openssl dgst -sha384 -binary package/dist/browser/standalone.js | openssl base64 -A)"
export const SCALAR_URL = "https://cdn.jsdelivr.net/npm/@scalar/api-reference@1.72.1/dist/browser/standalone.js";
export const SCALAR_INTEGRITY = "sha384-U11tb2XnKvmwt8RlTvnwUnYgrN+ur4Xyh9htLhjajWNR/Oyl5AX5DEz00qRmlrmK";

// Scalar mounts on #app and replaces what is inside it: the fallback shows
// until then, and stays when the CDN cannot be reached (offline, blocked, or
// a copy that fails its integrity check), instead of a blank page. Scalar's
// default fonts come from its own CDN; the system's serve as well, and keep
// the CSP at one foreign host.
const MOUNT = `if (window.Scalar) {
	document.getElementById("app").replaceChildren();
	Scalar.createApiReference("#app", { url: "/openapi.json", withDefaultFonts: false });
}`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edge-tasks API</title>
</head>
<body>
<div id="app">
<p>The interactive reference loads from cdn.jsdelivr.net; if it does not appear, read the API description at <a href="/openapi.json">/openapi.json</a>.</p>
</div>
<script src="${SCALAR_URL}" integrity="${SCALAR_INTEGRITY}" crossorigin="anonymous"></script>
<script>${MOUNT}</script>
</body>
</html>`;

// Styles: Scalar injects <style> elements and sets style attributes, which
// cannot run code. Images: data: URIs for its icons.
async function contentSecurityPolicy(): Promise<string> {
	const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(MOUNT));
	const mountHash = `'sha256-${btoa(String.fromCharCode(...new Uint8Array(digest)))}'`;
	return [
		"default-src 'none'",
		`script-src ${SCALAR_URL} ${mountHash}`,
		"style-src 'unsafe-inline'",
		"img-src 'self' data:",
		"connect-src 'self'",
		"frame-ancestors 'none'",
		"base-uri 'none'",
		"form-action 'none'",
	].join("; ");
}

let policy: Promise<string> | undefined;

export async function docsPage(c: Context): Promise<Response> {
	policy ??= contentSecurityPolicy();
	return c.html(PAGE, 200, { "Content-Security-Policy": await policy });
}
