// Per-request plumbing: the context on c.var, and the body-size cap.

import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { createContext } from "../context";
import { AppError } from "../errors";
import type { AppEnv } from "./app-env";

/** Builds the request's AppContext once; handlers read it from c.var.ctx. */
export const context = createMiddleware<AppEnv>(async (c, next) => {
	c.set("ctx", createContext(c.env, { request_id: c.var.requestId }));
	await next();
});

/** 413 as soon as the body passes the configured size, before it is read whole. */
export const limitBody = createMiddleware<AppEnv>((c, next) =>
	bodyLimit({
		maxSize: c.var.ctx.config.maxBodyBytes,
		onError: () => {
			throw new AppError(413, "payload_too_large", `Request body exceeds ${c.var.ctx.config.maxBodyBytes} bytes`);
		},
	})(c, next),
);
