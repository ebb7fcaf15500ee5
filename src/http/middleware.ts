// Per-request plumbing: the context on c.var, the request log line, the
// body-size cap and the enqueue rate limit.
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Config } from "../config";
import type { ContextOf } from "../context";
import { oncePer } from "../engine";
import { AppError } from "../errors";
import type { AppEnv } from "./app-env";

/** Builds the request's AppContext once; handlers read it from c.get("ctx"). */
export const contextFrom =
	(contextOf: ContextOf): MiddlewareHandler<AppEnv> =>
	async (c, next) => {
		c.set("ctx", contextOf(c.env, { request_id: c.get("requestId") }));
		await next();
	};

/** One JSON line per request (at debug when it succeeded). The token appears only as its id. */
export const requestLog: MiddlewareHandler<AppEnv> = async (c, next) => {
	const started = Date.now();
	await next();
	const fields = {
		request_id: c.get("requestId"),
		method: c.req.method,
		path: c.req.path,
		status: c.res.status,
		duration_ms: Date.now() - started,
		token_id: c.get("tokenId") ?? null,
	};
	// The context may be missing when the configuration itself is broken.
	const log = c.get("ctx")?.log;
	// A request that went well is at debug: the platform's own invocation log
	// already has its method, path, status and time, and an enqueue's line
	// names its request id. One that did not is at info.
	if (log) log[c.res.status < 400 ? "debug" : "info"]("request", fields);
	else console.log(JSON.stringify({ level: "info", msg: "request", ...fields }));
};

// One bodyLimit middleware per config (the config is the isolate's), not one
// built on every request.
const bodyLimitOf = oncePer((config: Config) =>
	bodyLimit({
		maxSize: config.maxBodyBytes,
		onError: () => {
			throw new AppError(413, "payload_too_large", `Request body exceeds ${config.maxBodyBytes} bytes`);
		},
	}),
);

/** 413 as soon as the body passes the configured size, before it is read whole. */
export const limitBody: MiddlewareHandler<AppEnv> = (c, next) => bodyLimitOf(c.get("ctx").config)(c, next);

// The limiter's window, from wrangler.toml; it does not report time left.
const RATE_LIMIT_PERIOD_SECONDS = 60;

/** Per-token rate limit (the Workers rate-limiting binding) for routes that enqueue. */
export const enqueueRateLimit: MiddlewareHandler<AppEnv> = async (c, next) => {
	const { success } = await c.get("ctx").enqueueLimiter.limit({ key: c.get("tokenId") ?? "anonymous" });
	if (!success) {
		throw new AppError(429, "rate_limited", "Too many enqueue requests for this token; slow down", undefined, {
			"Retry-After": String(RATE_LIMIT_PERIOD_SECONDS),
		});
	}
	await next();
};
