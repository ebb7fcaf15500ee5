// Tests run inside workerd through the Workers Vitest integration, against the
// real D1, Queue and send_email bindings that Miniflare provides. Migrations are
// handed to the tests as a binding and applied in test/apply-migrations.ts.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { buildSync } from "esbuild";
import { defineConfig } from "vitest/config";
import { unstable_readConfig } from "wrangler";

const root = path.join(import.meta.dirname, "..");
const wranglerConfig = path.join(root, "wrangler.toml");

// wrangler.toml's [alias] swaps some of mimetext's imports for src/shims/ in
// the deployed bundle; the tests resolve them the same way, so they run the
// code production runs. Exact matches only, as wrangler applies them.
const shims: Record<string, string> = unstable_readConfig({ config: wranglerConfig }).alias ?? {};
const aliases = Object.entries(shims).map(([from, to]) => ({
	find: new RegExp(`^${RegExp.escape(from)}$`),
	replacement: path.resolve(root, to),
}));

// The dependencies the sources import, by entry point (mimetext is left to the
// aliases above, which the optimizer would not apply).
const prebundled = [
	"zod",
	"uuid",
	"drizzle-orm",
	"drizzle-orm/d1",
	"drizzle-orm/sqlite-core",
	"@hono/zod-validator",
	...["", "/tiny", "/http-exception", "/secure-headers", "/request-id", "/cookie", "/html", "/csrf", "/cors", "/body-limit"].map(
		(sub) => `hono${sub}`,
	),
];

// Test files that need a workerd, a storage and a module registry of their own:
// - some count rows across the whole database, as rowCounts() does to show a
//   refused request wrote nothing: in a shared workerd, the consumer may still
//   be recording an earlier file's tasks meanwhile;
// - the chaos run checks its invariants over the whole database, and over
//   FlowControl objects that other files' limited tasks leave state in (after
//   flow-control.test.ts in one workerd it took 69 s instead of 17);
// - delays.test.ts fakes a date weeks ahead, and uuid's v7 stays monotonic
//   after it, so every id minted later in that isolate would carry that date,
//   which the API rejects as not yet minted; ids.test.ts reads that clock;
// - maintenance.test.ts runs the recovery sweep, which takes up every file's
//   stuck tasks, and counts the emails they send;
// - the rest count the emails sent (a spy on env.MAILER.send), and in a
//   shared workerd the consumer may still be sending an earlier file's.
// Run `npm test -- --sequence.shuffle.files` after moving a file out of this list.
const needsIsolation = [
	"test/app/auth.test.ts",
	"test/app/batch-consumer.test.ts",
	"test/app/bulk.test.ts",
	"test/app/consumer.test.ts",
	"test/app/dashboard-pages.test.ts",
	"test/app/dashboard-stats.test.ts",
	"test/app/delays.test.ts",
	"test/app/eager.test.ts",
	"test/app/email.test.ts",
	"test/app/end-to-end.test.ts",
	"test/app/idempotency.test.ts",
	"test/app/maintenance.test.ts",
	"test/app/mixed-batch.test.ts",
	"test/app/poison.test.ts",
	"test/app/process-user-route.test.ts",
	"test/app/redelivery.test.ts",
	"test/app/schedule.test.ts",
	"test/app/send-email-route.test.ts",
	"test/app/task-history.test.ts",
	"test/app/task-management.test.ts",
	"test/app/tasks-by-name.test.ts",
	"test/app/users-route.test.ts",
	"test/app/webhooks.test.ts",
	"test/app/workflows-route.test.ts",
	"test/app/workflows.test.ts",
	"test/chaos/chaos.test.ts",
	"test/engine/ids.test.ts",
];

// Auxiliary Workers, built to JavaScript for Miniflare, which runs no
// TypeScript: examples/rpc-caller.ts in a Worker of its own
// (test/app/rpc-caller-worker.ts), and the webhook receiver.
function auxiliaryWorker(name: string, entry: string) {
	const dir = mkdtempSync(path.join(tmpdir(), `edge-tasks-${name}-`));
	buildSync({
		entryPoints: [path.join(root, entry)],
		bundle: true,
		format: "esm",
		outfile: path.join(dir, "index.js"),
		external: ["cloudflare:workers"],
		logLevel: "error",
	});
	return { name, modules: true, modulesRoot: dir, scriptPath: path.join(dir, "index.js"), compatibilityDate: "2026-11-01" };
}

export default defineConfig(async () => {
	const plugins = [
		cloudflareTest({
			wrangler: { configPath: wranglerConfig },
			miniflare: {
				bindings: {
					APP_ENV: "test",
					API_TOKENS: "test-token-0123456789abcdef, rotated-token-0123456789abcdef, rate-limit-token-0123456789abcdef",
					SESSION_SECRET: "test-session-secret-0123456789abcdef0123456789",
					TASK_ID_SECRET: "test-task-id-secret-0123456789abcdef0123456789",
					WEBHOOK_ALLOWED_HOSTS: "hooks.example.com, *.receivers.example.net",
					WEBHOOK_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
					// High enough that tests sending many emails to example.com are not
					// held back; test/app/flow-app.test.ts runs send_email under a low one.
					EMAIL_RATE_PER_DOMAIN: "1000000",
					TEST_MIGRATIONS: await readD1Migrations(path.join(root, "migrations")),
					// The chaos run's size and seeds (npm run chaos sets them; npm test runs a short one).
					...(process.env.CHAOS_TASKS ? { CHAOS_TASKS: process.env.CHAOS_TASKS } : {}),
					...(process.env.CHAOS_SEEDS ? { CHAOS_SEEDS: process.env.CHAOS_SEEDS } : {}),
				},
				// Deliver enqueued messages to the consumer quickly.
				queueConsumers: { "edge-tasks-dev": { maxBatchTimeout: 0.05 } },
				// The engine's own tests enqueue stand-in tasks here: a real queue that
				// nothing consumes, so the app's consumer never sees them; the tests
				// deliver batches to their stand-in engine by hand.
				queueProducers: { ENGINE_TEST_QUEUE: { queueName: "edge-tasks-engine-test" } },
				serviceBindings: { RPC_CALLER: "rpc-caller", WEBHOOK_RECEIVER: "webhook-receiver" },
				// Every fetch() the Worker makes (webhooks) reaches the receiver, not the network.
				outboundService: "webhook-receiver",
				workers: [
					auxiliaryWorker("rpc-caller", "test/app/rpc-caller-worker.ts"),
					auxiliaryWorker("webhook-receiver", "test/app/webhook-receiver-worker.ts"),
				],
			},
		}),
	];
	// What both projects below share.
	const project = (name: string, test: { isolate?: boolean; include?: string[]; exclude?: string[] }) => ({
		plugins,
		resolve: { alias: aliases },
		test: {
			name,
			root,
			include: ["test/**/*.test.ts"],
			...test,
			setupFiles: ["test/apply-migrations.ts"],
			// Pre-bundle the dependencies once instead of transforming their modules
			// again for every test file's isolate.
			deps: { optimizer: { ssr: { enabled: true, include: prebundled } } },
		},
	});
	return {
		test: {
			// The Worker logs a JSON line per event; show them only for failing
			// tests (a root option: projects do not take it).
			silent: "passed-only" as const,
			// Vitest's default leaves one of this machine's two cores idle.
			maxWorkers: 2,
			// An isolated file starts a workerd of its own (about 2 s each). The
			// others share one per Vitest worker, with its storage and module
			// registry: 118 to 129 s for the suite when every file was isolated, 78 to 95 s now.
			projects: [
				project("shared", { isolate: false, exclude: needsIsolation }),
				project("isolated", { include: needsIsolation }),
			],
		},
	};
});
