// Bearer-token authentication. Tokens come from the API_TOKENS secret; each is
// compared with timingSafeEqual, and only a short hash of it (the token id) is
// ever logged.
import type { MiddlewareHandler } from "hono";
import { oncePer } from "../engine";
import { AppError } from "../errors";
import type { AppEnv } from "./app-env";

const challenge = (error?: string) => ({
	"WWW-Authenticate": error ? `Bearer realm="edge-tasks", error="${error}"` : 'Bearer realm="edge-tasks"',
});

export const requireToken: MiddlewareHandler<AppEnv> = async (c, next) => {
	const tokens = c.get("ctx").config.apiTokens;
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
	const matched = await matchToken(match[1], tokens);
	if (matched === undefined) {
		throw new AppError(401, "unauthorized", "The token is not valid", undefined, challenge("invalid_token"));
	}
	c.set("tokenId", matched);
	await next();
};

/** Whether `presented` is one of `tokens`. */
export async function matchesAnyToken(presented: string, tokens: readonly string[]): Promise<boolean> {
	return (await matchToken(presented, tokens)) !== undefined;
}

const encoder = new TextEncoder();

// The configured tokens are the frozen config's array: encoded and named once,
// not on every request.
const configured = oncePer((tokens: readonly string[]) =>
	Promise.all(tokens.map(async (token) => ({ bytes: encoder.encode(token), id: idOf(await hashToken(token)) }))),
);

/**
 * The id of the configured token that `presented` is, if any. Every token is
 * compared, each with timingSafeEqual, so timing says nothing about which
 * matched or how much of one did. A token of another length is not compared
 * (the presented one is compared with itself instead, as Cloudflare's
 * timingSafeEqual example does): timing can tell only whether some configured
 * token has the presented length, which says little of a long random token
 * (config.ts sets the least length).
 */
async function matchToken(presented: string, tokens: readonly string[]): Promise<string | undefined> {
	const bytes = encoder.encode(presented);
	let matched: string | undefined;
	for (const token of await configured(tokens)) {
		const same =
			token.bytes.byteLength === bytes.byteLength
				? crypto.subtle.timingSafeEqual(bytes, token.bytes)
				: !crypto.subtle.timingSafeEqual(bytes, bytes);
		if (same) matched = token.id;
	}
	return matched;
}

/** The ids of the configured tokens (a session names the token it signed in with). */
export const configuredTokenIds = oncePer(
	async (tokens: readonly string[]): Promise<ReadonlySet<string>> => new Set((await configured(tokens)).map((t) => t.id)),
);

/** A stable, non-reversible name for a token, for logs and rate-limit keys. */
export async function tokenId(token: string): Promise<string> {
	return idOf(await hashToken(token));
}

const idOf = (hash: ArrayBuffer) =>
	`tok_${[...new Uint8Array(hash).slice(0, 6)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;

function hashToken(text: string): Promise<ArrayBuffer> {
	return crypto.subtle.digest("SHA-256", encoder.encode(text));
}
