// Hono answers 404 when a path exists under another method; clients deserve
// 405 with an Allow header. Call after the routes it covers are mounted (by
// default all of them; pass `routes` to cover only those mounted since).
import type { Hono } from "hono";
import { AppError } from "../errors";
import type { AppEnv } from "./app-env";

export function answerMethodNotAllowed(app: Hono<AppEnv>, routes = app.routes): void {
	const methods = new Map<string, Set<string>>();
	for (const route of routes) {
		if (route.method === "ALL") continue;
		const allowed = methods.get(route.path) ?? new Set<string>();
		allowed.add(route.method);
		if (route.method === "GET") allowed.add("HEAD");
		methods.set(route.path, allowed);
	}
	for (const [path, allowed] of methods) {
		const allow = [...allowed].sort().join(", ");
		app.all(path, (c) => {
			throw new AppError(405, "method_not_allowed", `${c.req.method} is not allowed on ${path}; use ${allow}`, undefined, {
				Allow: allow,
			});
		});
	}
}
