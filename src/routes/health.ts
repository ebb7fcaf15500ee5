// Liveness: answers without touching D1 or the queue. Also /favicon.ico, which
// every browser asks for and would otherwise meet the token check (a 401).
import * as z from "zod";
import { createRouter, defineRoute } from "../http/openapi-router";

export const health = createRouter();

health.openapi(
	defineRoute({
		method: "get",
		path: "/health",
		tags: ["System"],
		summary: "Liveness check",
		responses: {
			200: {
				content: { "application/json": { schema: z.object({ status: z.literal("ok") }) } },
				description: "The Worker is up and configured",
			},
		},
	}),
	(c) => c.json({ status: "ok" as const }, 200),
);

// No icon: 204. Not part of the API, so not in the OpenAPI document; a wrong
// method gets 405 like any other route's.
health.get("/favicon.ico", (c) => c.body(null, 204));
