// The Hono environment, declared once: bindings from the generated Env, and the
// per-request context on c.var.
import type { RequestIdVariables } from "hono/request-id";
import type { AppContext } from "../context";

export type AppEnv = {
	Bindings: Env;
	Variables: RequestIdVariables & { ctx: AppContext; tokenId?: string };
};
