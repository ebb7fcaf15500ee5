// The Hono environment, declared once: bindings from the generated Env, and the
// per-request context among the request's variables. Read them with
// c.get(name): Hono's c.var copies every variable into a new object on each read.
import type { RequestIdVariables } from "hono/request-id";
import type { AppContext } from "../context";

export type AppEnv = {
	Bindings: Env;
	Variables: RequestIdVariables & { ctx: AppContext; tokenId?: string };
};
