// Bearer-token authentication. Tokens come from the API_TOKENS secret; each is
// compared in constant time, and only a short hash of it (the token id) is ever
// logged.
import type { MiddlewareHandler } from "hono";
import { oncePer } from "../engine";
import { AppError } from "../errors";
import type { AppEnv } from "./app-env";

const challenge = (error?: string) => ({
	"WWW-Authenticate": error ? `Bearer realm="edge-tasks", error="${error}"` : 'Bearer realm="edge-tasks"',
});

export const requireToken: MiddlewareHandler<AppEnv> = async (c, next) => {
	const tokens = c.var.ctx.config.apiTokens;
	if (tokens.length === 0) {
		// Refuse rather than run open: an unauthenticated Worker is an open mail relay.
		throw new AppError(500, "config_error", "No API token is configured (API_TOKENS); the API refuses every protected request");
	}
	const header = c.req.header("Authorization");
	// RFC 7235: the scheme is case-insensitive, and one or more spaces follow it.
	const match = header?.match(/^Bearer +([\x21-\x7e]+)$/i);
	if (!match?.[1]) {
		throw new AppError(401, "unauthorized", "Send Authorization: Bearer <token>", undefined, challenge());
	}
	const presented = await hashToken(match[1]);
	if (!(await matchesAnyHash(presented, tokens))) {
		throw new AppError(401, "unauthorized", "The token is not valid", undefined, challenge("invalid_token"));
	}
	c.set("tokenId", idOf(presented));
	await next();
};

/** Whether `presented` is one of `tokens`. Every token is compared, so timing says nothing about which matched. */
export async function matchesAnyToken(presented: string, tokens: readonly string[]): Promise<boolean> {
	return matchesAnyHash(await hashToken(presented), tokens);
}

async function matchesAnyHash(presented: ArrayBuffer, tokens: readonly string[]): Promise<boolean> {
	let accepted = false;
	// Comparing SHA-256 digests gives equal lengths, as timingSafeEqual needs.
	for (const hash of await hashesOf(tokens)) accepted = crypto.subtle.timingSafeEqual(presented, hash) || accepted;
	return accepted;
}

// The configured tokens are the frozen config's array: hashed once, not on
// every request.
const hashesOf = oncePer((tokens: readonly string[]) => Promise.all(tokens.map(hashToken)));

/** The ids of the configured tokens (a session names the token it signed in with). */
export const configuredTokenIds = oncePer(
	async (tokens: readonly string[]): Promise<ReadonlySet<string>> => new Set((await hashesOf(tokens)).map(idOf)),
);

/** A stable, non-reversible name for a token, for logs and rate-limit keys. */
export async function tokenId(token: string): Promise<string> {
	return idOf(await hashToken(token));
}

const idOf = (hash: ArrayBuffer) =>
	`tok_${[...new Uint8Array(hash).slice(0, 6)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;

function hashToken(text: string): Promise<ArrayBuffer> {
	return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
}
