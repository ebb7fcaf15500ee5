// Mounts Scalar on #app, replacing the fallback, which stays when the CDN
// cannot be reached (offline, blocked, or a copy that fails its integrity
// check) instead of a blank page. Scalar's default fonts come from its own
// CDN; the system's serve as well, and keep the CSP at one foreign host.
if (window.Scalar) {
	document.getElementById("app").replaceChildren();
	Scalar.createApiReference("#app", { url: "/openapi.json", withDefaultFonts: false });
}
