// Signing in and out. The form takes one of the API's own tokens, checks it in
// constant time like the API does, and trades it for a session cookie; the
// token itself is never stored, echoed or logged. Attempts are rate-limited
// per client address.
import { html } from "hono/html";
import { Hono } from "hono/tiny";
import { AppError } from "../errors";
import type { AppEnv } from "../http/app-env";
import { matchesAnyToken } from "../http/auth";
import { layout } from "./layout";
import { endSession, LOGIN_PATH, readSession, safeNext, startSession } from "./session";

function loginPage(next: string, error?: string) {
	const invalid = error && html` aria-invalid="true"`;
	return layout(
		{ title: "Sign in" },
		html`<div class="login">
			<h1>Sign in to edge-tasks</h1>
			${error && html`<p class="alert" role="alert" id="login-error">${error}</p>`}
			<form method="post" action="${LOGIN_PATH}">
				<input type="hidden" name="next" value="${next}">
				<label for="token">API token</label><input id="token" name="token" type="password" required
					autocomplete="current-password" spellcheck="false"${invalid}
					aria-describedby="${error ? "login-error token-help" : "token-help"}">
				<p id="token-help" class="muted">One of the tokens in the Worker's <code>API_TOKENS</code>. The browser keeps only a signed session for 8 hours, never the token.</p>
				<button type="submit" class="primary">Sign in</button>
			</form>
		</div>`,
	);
}

// The limiter's window, from wrangler.toml.
const LOGIN_PERIOD_SECONDS = 60;

export const login = new Hono<AppEnv>();

login.get("/login", async (c) => {
	const next = safeNext(c.req.query("next"));
	if (await readSession(c)) return c.redirect(next, 302);
	return c.html(loginPage(next));
});

login.post("/login", async (c) => {
	const form = await c.req.parseBody();
	const next = safeNext(typeof form.next === "string" ? form.next : undefined);
	const ctx = c.get("ctx");
	const { success } = await ctx.loginLimiter.limit({ key: c.req.header("CF-Connecting-IP") ?? "unknown" });
	if (!success) {
		const error = "Too many sign-in attempts from your address. Wait a minute, then try again.";
		return c.html(loginPage(next, error), 429, { "Retry-After": String(LOGIN_PERIOD_SECONDS) });
	}
	if (ctx.config.apiTokens.length === 0) {
		throw new AppError(500, "config_error", "No API token is configured (API_TOKENS); nobody can sign in");
	}
	const token = typeof form.token === "string" ? form.token : "";
	if (!(await matchesAnyToken(token, ctx.config.apiTokens))) {
		ctx.log.warn("dashboard sign-in refused");
		return c.html(loginPage(next, "That token is not valid. Check it and try again."), 401);
	}
	await startSession(c, token);
	return c.redirect(next, 303);
});

login.post("/logout", async (c) => {
	await endSession(c);
	return c.redirect(LOGIN_PATH, 303);
});
