// The OpenAPI 3.1 description, generated from the same zod schemas that
// validate requests, and the helpers that keep every protected route's
// security and auth errors in it.
import { createRoute, type OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import { Scalar } from "@scalar/hono-api-reference";
import type { AppEnv } from "./app-env";
import { errorResponse } from "./schemas";

/** A route that needs a bearer token: declares the scheme and its 401. */
export function authedRoute<R extends RouteConfig>(route: R) {
	return createRoute({
		...route,
		security: [{ bearerAuth: [] }],
		responses: {
			...route.responses,
			401: errorResponse("Missing, malformed or unknown bearer token (see WWW-Authenticate)"),
		},
	});
}

/** A protected route that enqueues: also rate limited per token. */
export function enqueueRoute<R extends RouteConfig>(route: R) {
	return authedRoute({
		...route,
		responses: {
			...route.responses,
			429: errorResponse("Too many enqueue requests for this token; see Retry-After"),
		},
	});
}

export function serveDocs(app: OpenAPIHono<AppEnv>): void {
	app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
		type: "http",
		scheme: "bearer",
		description: "One of the tokens in the API_TOKENS secret",
	});
	app.doc31("/openapi.json", {
		openapi: "3.1.0",
		info: {
			title: "edge-tasks",
			version: "0.1.0",
			description:
				"Background tasks on Cloudflare Workers. Enqueue a task, get its id at once, read its state and result. Errors share one shape: { error: { code, message, details?, request_id } }.",
		},
	});
	app.get("/docs", Scalar({ url: "/openapi.json", pageTitle: "edge-tasks API" }));
}
