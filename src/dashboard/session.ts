// Dashboard sessions. The cookie is signed with SESSION_SECRET, HttpOnly,
// Secure, SameSite=Strict and __Host- prefixed; it holds the id of the token
// that signed in (tok_..., never the token) and an expiry. Each request checks
// that id against the tokens configured now, so removing a token from
// API_TOKENS ends every session made with it.
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, getSignedCookie, setSignedCookie } from "hono/cookie";
import type { AppEnv } from "../http/app-env";
import { configuredTokenIds, tokenId } from "../http/auth";

/** Sent as __Host-edge_tasks_session. */
const COOKIE = "edge_tasks_session";
const SESSION_SECONDS = 8 * 3600;
const cookieOptions = { prefix: "host", path: "/", secure: true, httpOnly: true, sameSite: "Strict" } as const;

export const LOGIN_PATH = "/dashboard/login";
const HOME = "/dashboard";

export interface Session {
	tokenId: string;
	expiresAt: number;
}

export async function startSession(c: Context<AppEnv>, token: string, now = Date.now()): Promise<void> {
	const value = `${await tokenId(token)}:${now + SESSION_SECONDS * 1000}`;
	await setSignedCookie(c, COOKIE, value, c.var.ctx.config.sessionSecret, { ...cookieOptions, maxAge: SESSION_SECONDS });
}

export function endSession(c: Context<AppEnv>): void {
	deleteCookie(c, COOKIE, cookieOptions);
}

/** The request's session, if its cookie is ours, unexpired, and its token is still configured. */
export async function readSession(c: Context<AppEnv>, now = Date.now()): Promise<Session | undefined> {
	const { config } = c.var.ctx;
	const value = await getSignedCookie(c, config.sessionSecret, COOKIE, "host");
	// undefined: no cookie; false: its signature does not verify.
	if (!value) return undefined;
	const match = /^(tok_[0-9a-f]{12}):([0-9]{13})$/.exec(value);
	if (!match?.[1] || !match[2]) return undefined;
	const session = { tokenId: match[1], expiresAt: Number(match[2]) };
	if (session.expiresAt <= now) return undefined;
	if (!(await configuredTokenIds(config.apiTokens)).has(session.tokenId)) return undefined;
	return session;
}

/** Pages behind this need a session; without one, the browser is sent to sign in and brought back. */
export const requireSession: MiddlewareHandler<AppEnv> = async (c, next) => {
	const session = await readSession(c);
	if (!session) {
		if (getCookie(c, COOKIE, "host") !== undefined) endSession(c);
		const safe = c.req.method === "GET" || c.req.method === "HEAD";
		const url = new URL(c.req.url);
		const back = safe ? safeNext(url.pathname + url.search) : HOME;
		const query = back === HOME ? "" : `?next=${encodeURIComponent(back)}`;
		return c.redirect(`${LOGIN_PATH}${query}`, safe ? 302 : 303);
	}
	c.set("tokenId", session.tokenId);
	await next();
};

/**
 * Where to go after signing in: a path under /dashboard on this origin, or the
 * overview. Only URL-safe characters pass (no backslash, space or control
 * character), and no "//", so `next` can never send a browser elsewhere.
 */
export function safeNext(next: string | undefined): string {
	if (!next || !/^\/dashboard(?:[/?][\w\-.~/?=&%+:@,]*)?$/.test(next) || next.includes("//")) return HOME;
	const base = "https://dashboard.invalid";
	const url = new URL(next, base);
	if (url.origin !== base || !/^\/dashboard(?:\/|$)/.test(url.pathname) || url.pathname.startsWith(LOGIN_PATH)) return HOME;
	return url.pathname + url.search;
}
