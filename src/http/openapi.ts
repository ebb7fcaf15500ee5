// The OpenAPI 3.1 description, generated from the same zod schemas that
// validate requests, and the helpers that keep every protected route's
// security and auth errors in it.
import { Scalar } from "@scalar/hono-api-reference";
import type { Hono } from "hono";
import type { AppEnv } from "./app-env";
import { defineRoute, openApiDocument, type RouteConfig } from "./openapi-router";
import { errorResponse } from "./schemas";

/** A route that needs a bearer token: declares the scheme and its 401. */
export function authedRoute<R extends RouteConfig>(route: R) {
	return defineRoute({
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

export function serveDocs(app: Hono<AppEnv>): void {
	let document: ReturnType<typeof openApiDocument> | undefined;
	app.get("/openapi.json", (c) => {
		// Built on first request, once every router module has registered its routes.
		document ??= openApiDocument(
			{
				title: "edge-tasks",
				version: "0.1.0",
				description:
					"Background tasks on Cloudflare Workers. Enqueue a task, get its id at once, read its state and result. Errors share one shape: { error: { code, message, details?, request_id } }.",
			},
			{ bearerAuth: { type: "http", scheme: "bearer", description: "One of the tokens in the API_TOKENS secret" } },
		);
		return c.json(document);
	});
	app.get("/docs", Scalar({ url: "/openapi.json", pageTitle: "edge-tasks API" }));
}
