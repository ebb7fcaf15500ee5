// Test-only bindings, added in test/vitest.config.ts.
declare namespace Cloudflare {
	interface Env {
		TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
		/** A queue with no consumer, for the engine's stand-in tasks (test/engine/). */
		ENGINE_TEST_QUEUE: Queue;
		/** examples/rpc-caller.ts as a Worker of its own (test/app/rpc-caller-worker.ts). */
		RPC_CALLER: Service<import("./app/rpc-caller-worker").default>;
		/** Where the Worker's fetch() calls land in the tests (test/app/webhook-receiver-worker.ts). */
		WEBHOOK_RECEIVER: Service<import("./app/webhook-receiver-worker").default>;
		WEBHOOK_SECRET: string;
	}
}

// Vite's ?raw imports: a file's text.
declare module "*?raw" {
	const text: string;
	export default text;
}
