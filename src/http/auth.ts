// Bearer-token authentication. Tokens come from the API_TOKENS secret; each is
// compared in constant time, and only a short hash of it (the token id) is ever
// logged.
import { createMiddleware } from "hono/factory";
import { AppError } from "../errors";
import type { AppEnv } from "./app-env";

const challenge = (error?: string) => ({
	"WWW-Authenticate": error ? `Bearer realm="edge-tasks", error="${error}"` : 'Bearer realm="edge-tasks"',
});

export const requireToken = createMiddleware<AppEnv>(async (c, next) => {
	const tokens = c.var.ctx.config.apiTokens;
	if (tokens.length === 0) {
		// Refuse rather than run open: an unauthenticated Worker is an open mail relay.
		throw new AppError(500, "config_error", "No API token is configured (API_TOKENS); the API refuses every protected request");
	}
	const header = c.req.header("Authorization");
	const match = header?.match(/^Bearer ([\x21-\x7e]+)$/);
	if (!match?.[1]) {
		throw new AppError(401, "unauthorized", "Send Authorization: Bearer <token>", undefined, challenge());
	}
	const presented = match[1];
	if (!(await matchesAnyToken(presented, tokens))) {
		throw new AppError(401, "unauthorized", "The token is not valid", undefined, challenge("invalid_token"));
	}
	c.set("tokenId", await tokenId(presented));
	await next();
});

/** Whether `presented` is one of `tokens`. Every token is compared, so timing says nothing about which matched. */
export async function matchesAnyToken(presented: string, tokens: readonly string[]): Promise<boolean> {
	let accepted = false;
	for (const token of tokens) accepted = (await tokensEqual(presented, token)) || accepted;
	return accepted;
}

/** Constant-time comparison of two tokens: both are hashed to equal length first. */
export async function tokensEqual(a: string, b: string): Promise<boolean> {
	const [ha, hb] = await Promise.all([sha256(a), sha256(b)]);
	return crypto.subtle.timingSafeEqual(ha, hb);
}

/** A stable, non-reversible name for a token, for logs and rate-limit keys. */
export async function tokenId(token: string): Promise<string> {
	const digest = new Uint8Array(await sha256(token));
	return `tok_${[...digest.slice(0, 6)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function sha256(text: string): Promise<ArrayBuffer> {
	return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
}
