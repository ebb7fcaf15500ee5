// Tests run inside workerd through the Workers Vitest integration, against the
// real D1, Queue and send_email bindings that Miniflare provides. Migrations are
// handed to the tests as a binding and applied in test/apply-migrations.ts.
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const root = path.join(import.meta.dirname, "..");

export default defineConfig(async () => ({
	plugins: [
		cloudflareTest({
			wrangler: { configPath: path.join(root, "wrangler.toml") },
			miniflare: {
				bindings: {
					APP_ENV: "test",
					API_TOKENS: "test-token-0123456789abcdef, rotated-token-0123456789abcdef, rate-limit-token-0123456789abcdef",
					SESSION_SECRET: "test-session-secret-0123456789abcdef0123456789",
					TEST_MIGRATIONS: await readD1Migrations(path.join(root, "migrations")),
				},
				// Deliver enqueued messages to the consumer quickly.
				queueConsumers: { "edge-tasks-dev": { maxBatchTimeout: 0.05 } },
			},
		}),
	],
	test: {
		root,
		include: ["test/**/*.test.ts"],
		// The Worker logs a JSON line per event; show them only for failing tests.
		silent: "passed-only" as const,
		setupFiles: ["test/apply-migrations.ts"],
	},
}));
