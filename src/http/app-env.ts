// The Hono environment, declared once: bindings from the generated Env, and the
// per-request context on c.var.
import type { RequestIdVariables } from "hono/request-id";
import type { AppContext } from "../context";
import { ApiRouter } from "./openapi-router";

export type AppEnv = {
	Bindings: Env;
	Variables: RequestIdVariables & { ctx: AppContext; tokenId?: string };
};

/** A router whose routes validate requests (failures become the API's one error shape) and document themselves. */
export function createRouter() {
	return new ApiRouter();
}
