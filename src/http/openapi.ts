// The OpenAPI 3.1 description, generated from the same zod schemas that
// validate requests, and the helpers that keep every protected route's
// security and auth errors in it.
import type { Context, Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "./app-env";
import { enqueueRateLimit } from "./middleware";
import { defineRoute, openApiDocument, type RouteConfig } from "./openapi-router";
import { errorResponse } from "./schemas";

/** A route that needs a bearer token: declares the scheme and its 401. */
export function authedRoute<R extends RouteConfig>(route: R) {
	return defineRoute({
		...route,
		security: [{ bearerAuth: [] }],
		responses: {
			// Every protected route reads or writes D1; a route that can answer 503 for another reason says so itself.
			503: errorResponse("storage_unavailable: D1 is unavailable; try again later"),
			...route.responses,
			401: errorResponse(
				"Missing, malformed or unknown bearer token",
				z.object({ "WWW-Authenticate": z.string().meta({ example: 'Bearer realm="edge-tasks", error="invalid_token"' }) }),
			),
		},
	});
}

/** A protected route that enqueues: also rate limited per token, and documented so. */
export function enqueueRoute<R extends RouteConfig>(route: R) {
	return authedRoute({
		...route,
		middleware: [enqueueRateLimit, ...(route.middleware ?? [])],
		responses: {
			...route.responses,
			429: errorResponse(
				"Too many enqueue requests for this token",
				z.object({ "Retry-After": z.string().meta({ description: "Seconds until the limit resets", example: "60" }) }),
			),
		},
	});
}

/** Replaced at build time (wrangler.toml's define): false in production. */
declare const __LIVE_OPENAPI__: boolean;

/** Where the published document is among the static assets. */
export const PUBLISHED_OPENAPI = "/openapi.published.json";

/** A static asset as this Worker's own answer (its headers are immutable; middleware adds its own). */
async function asset(c: Context<AppEnv>, path: string): Promise<Response> {
	const file = await c.env.ASSETS.fetch(new Request(new URL(path, c.req.url), { headers: c.req.raw.headers }));
	return new Response(file.body, file);
}

export function serveDocs(app: Hono<AppEnv>): void {
	if (!__LIVE_OPENAPI__) {
		// Production: the document as published, the same one CI checks against the routes.
		app.get("/openapi.json", (c) => asset(c, PUBLISHED_OPENAPI));
	} else {
		serveLiveDocument(app);
	}
	// /docs is a static asset (src/static/docs.html), served before the Worker
	// runs. Only another method reaches the Worker (405, from this route), or a
	// request that did not pass the asset router, which gets the same file.
	app.get("/docs", (c) => asset(c, "/docs"));
}

function serveLiveDocument(app: Hono<AppEnv>): void {
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
			{
				responses: {
					500: errorResponse(
						"config_error: the Worker's configuration is invalid (the log line with the request id names the variable); internal_error: anything else, logged with the request id",
					),
				},
				headers: z.object({
					"X-Request-Id": z
						.string()
						.meta({ description: "The request's id (echoed if the client sent one); errors carry it too" }),
				}),
			},
		);
		return c.json(document);
	});
}
