// Dashboard sessions. Signing in writes a row to dashboard_sessions (a random
// id, the id of the token that signed in, never the token, and an expiry);
// the cookie carries the row's id, signed with SESSION_SECRET, HttpOnly,
// Secure, SameSite=Strict and __Host- prefixed. Each request reads the row
// (one D1 read), so signing out, which deletes it, ends the session at once,
// and checks its token id against the tokens configured now, so removing a
// token from API_TOKENS ends every session made with it.
import { and, eq, gt, inArray, lte } from "drizzle-orm";
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, getSignedCookie, setSignedCookie } from "hono/cookie";
import { dashboardSessions } from "../db/schema";
import type { AppEnv } from "../http/app-env";
import { configuredTokenIds, tokenId } from "../http/auth";

/** Sent as __Host-edge_tasks_session. */
const COOKIE = "edge_tasks_session";
const SESSION_SECONDS = 8 * 3600;
const cookieOptions = { prefix: "host", path: "/", secure: true, httpOnly: true, sameSite: "Strict" } as const;
// Expired rows deleted per sign-in. Every row comes from a sign-in, so
// deleting up to 100 at each keeps the table about as large as the sessions
// still alive, with no maintenance task.
const SWEEP_LIMIT = 100;

export const LOGIN_PATH = "/dashboard/login";
const HOME = "/dashboard";

export interface Session {
	tokenId: string;
	expiresAt: number;
}

export async function startSession(c: Context<AppEnv>, token: string, now = Date.now()): Promise<void> {
	const { db, config } = c.get("ctx");
	const id = [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0")).join("");
	const expired = db
		.select({ id: dashboardSessions.id })
		.from(dashboardSessions)
		.where(lte(dashboardSessions.expiresAt, new Date(now)))
		.limit(SWEEP_LIMIT);
	await db.batch([
		db.delete(dashboardSessions).where(inArray(dashboardSessions.id, expired)),
		db.insert(dashboardSessions).values({
			id,
			tokenId: await tokenId(token),
			createdAt: new Date(now),
			expiresAt: new Date(now + SESSION_SECONDS * 1000),
		}),
	]);
	await setSignedCookie(c, COOKIE, id, config.sessionSecret, { ...cookieOptions, maxAge: SESSION_SECONDS });
}

/** Signs out: the session's row goes, so its cookie opens nothing even if the browser keeps it. */
export async function endSession(c: Context<AppEnv>): Promise<void> {
	const id = await sessionId(c);
	if (id) await c.get("ctx").db.delete(dashboardSessions).where(eq(dashboardSessions.id, id));
	deleteCookie(c, COOKIE, cookieOptions);
}

/** The session id in the request's cookie, if the cookie is ours. */
async function sessionId(c: Context<AppEnv>): Promise<string | undefined> {
	const value = await getSignedCookie(c, c.get("ctx").config.sessionSecret, COOKIE, "host");
	// undefined: no cookie; false: its signature does not verify.
	return value && /^[0-9a-f]{64}$/.test(value) ? value : undefined;
}

/** The request's session, if its cookie is ours, its row unexpired, and its token still configured. */
export async function readSession(c: Context<AppEnv>, now = Date.now()): Promise<Session | undefined> {
	const id = await sessionId(c);
	if (!id) return undefined;
	const { db, config } = c.get("ctx");
	const row = await db
		.select({ tokenId: dashboardSessions.tokenId, expiresAt: dashboardSessions.expiresAt })
		.from(dashboardSessions)
		.where(and(eq(dashboardSessions.id, id), gt(dashboardSessions.expiresAt, new Date(now))))
		.get();
	if (!row) return undefined;
	if (!(await configuredTokenIds(config.apiTokens)).has(row.tokenId)) return undefined;
	return { tokenId: row.tokenId, expiresAt: row.expiresAt.getTime() };
}

/** Pages behind this need a session; without one, the browser is sent to sign in and brought back. */
export const requireSession: MiddlewareHandler<AppEnv> = async (c, next) => {
	const session = await readSession(c);
	if (!session) {
		if (getCookie(c, COOKIE, "host") !== undefined) deleteCookie(c, COOKIE, cookieOptions);
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
