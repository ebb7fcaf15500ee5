// Liveness: answers without touching D1 or the queue.
import * as z from "zod";
import { createRouter, defineRoute } from "../http/openapi-router";

export const health = createRouter().openapi(
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
