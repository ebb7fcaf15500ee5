// The Hono environment, declared once: bindings from the generated Env, and the
// per-request context on c.var.
import { OpenAPIHono } from "@hono/zod-openapi";
import type { RequestIdVariables } from "hono/request-id";
import type { AppContext } from "../context";
import { validationHook } from "./errors";

export type AppEnv = {
	Bindings: Env;
	Variables: RequestIdVariables & { ctx: AppContext; tokenId?: string };
};

/** A router whose validation failures become the API's one error shape. */
export function createRouter() {
	return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}
