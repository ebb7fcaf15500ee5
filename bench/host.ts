// Hosts the Worker for the benchmark: bundled by wrangler (the same bundle
// `wrangler deploy` would upload), run by Miniflare's API directly in workerd
// on loopback, with the bindings wrangler.toml declares for development and a
// fresh D1 in a temporary directory. No `wrangler dev` proxy in front.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";

export const ROOT = path.join(import.meta.dirname, "..");
export const TOKEN = "bench-token-0123456789abcdef";

/** Bundles `entry` (with the development config unless `env` names another); returns
 * the bundle's path. esbuild's metafile lands next to it as bundle-meta.json. */
export function bundle(entry: string, env?: string, { minify = true } = {}): string {
	const outdir = mkdtempSync(path.join(tmpdir(), "edge-tasks-bundle-"));
	const meta = `--metafile=${path.join(outdir, "bundle-meta.json")}`;
	const args = ["wrangler", "deploy", "--dry-run", "--outdir", outdir, meta, ...(env ? ["--env", env] : []), entry];
	if (!minify) args.push("--no-minify");
	execFileSync("npx", args, { cwd: ROOT, stdio: "ignore", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
	return path.join(outdir, `${path.basename(entry, ".ts")}.js`);
}

/** A var as wrangler.toml's production environment sets it. */
export function productionVar(name: string): string | undefined {
	const { workerOptions } = unstable_getMiniflareWorkerOptions(path.join(ROOT, "wrangler.toml"), "production");
	const value = (workerOptions.bindings as Record<string, unknown> | undefined)?.[name];
	return typeof value === "string" ? value : undefined;
}

export interface Host {
	mf: Miniflare;
	url: URL;
	db: D1Database;
	dispose(): Promise<void>;
}

export interface HostOptions {
	/** Consumer settings to use instead of wrangler.toml's development ones. */
	consumer?: { maxBatchTimeout?: number; maxBatchSize?: number };
	/** Extra vars for the Worker (bench/worker/entry.ts reads BENCH_*). */
	vars?: Record<string, string>;
	/** Bundle with this environment's build settings (its `define`), e.g. "production"; the bindings stay development's. */
	buildEnv?: string;
	/** Opens workerd's own inspector (no proxy) on this port, for a CPU profile (bench/profile.ts). */
	inspectorPort?: number;
	/** Bundles unminified, so that a profile names functions (`minify` in wrangler.toml is on). */
	minify?: boolean;
	/**
	 * Puts Miniflare's static-assets router in front of the Worker, as `wrangler
	 * dev` does. Off by default: in production the platform serves assets and
	 * routes requests to the Worker before it runs, on no CPU of the Worker's,
	 * while locally the router is two more Workers in the same thread, which
	 * halves what /health can do. The benchmark measures that cost as a probe.
	 */
	assetRouter?: boolean;
	/** A bundle to host as it is, instead of building `entry` (bench/cold-start.ts). */
	script?: string;
	/** Applies migrations/ to the fresh D1 before answering (the default). */
	migrate?: boolean;
}

export async function startHost(entry: string, options: HostOptions = {}): Promise<Host> {
	const script = options.script ?? bundle(entry, options.buildEnv, { minify: options.minify ?? true });
	// The development environment's bindings, as wrangler.toml declares them,
	// in the form wrangler itself hands to Miniflare.
	const { workerOptions } = unstable_getMiniflareWorkerOptions(path.join(ROOT, "wrangler.toml"));
	const queueConsumers = Object.fromEntries(
		Object.entries(workerOptions.queueConsumers ?? {}).map(([queue, consumer]) => [queue, { ...consumer, ...options.consumer }]),
	);
	const mf = new Miniflare(
		convertV4MiniflareOptions({
			host: "127.0.0.1",
			port: 0,
			...(options.inspectorPort ? { inspectorPort: options.inspectorPort } : {}),
			// Miniflare would fetch Request.cf's data from workers.cloudflare.com at
			// start: the host must not touch the network, and the placeholder serves.
			cf: false,
			log: new Log(process.env.BENCH_DEBUG ? LogLevel.DEBUG : LogLevel.WARN),
			// On disk, as wrangler dev keeps local D1.
			d1Persist: mkdtempSync(path.join(tmpdir(), "edge-tasks-d1-")),
			// The Worker logs a JSON line per request and per task: keep them out of
			// the report unless asked for.
			handleStructuredLogs(log: { level: string; message: string }) {
				if (process.env.BENCH_DEBUG) console.error(log.level, log.message);
			},
			workers: [
				{
					...workerOptions,
					...(options.assetRouter ? {} : { assets: undefined }),
					name: "edge-tasks",
					modulesRoot: path.dirname(script),
					modules: [{ type: "ESModule", path: script }],
					queueConsumers,
					bindings: {
						...(workerOptions.bindings as Record<string, string>),
						// As with the enqueue limiter below: send_email's per-domain rate
						// limit (FlowControl) must not throttle the drains; the most the
						// config accepts.
						EMAIL_RATE_PER_DOMAIN: "1000000",
						...options.vars,
						API_TOKENS: TOKEN,
						SESSION_SECRET: "bench-session-secret-0123456789abcdef",
						TASK_ID_SECRET: "bench-task-id-secret-0123456789abcdef",
					},
					// The benchmark measures the Worker, not the limiter's verdict: the
					// same binding, with a limit the load cannot reach.
					ratelimits: Object.fromEntries(
						Object.entries(workerOptions.ratelimits ?? {}).map(([name, limiter]) => [
							name,
							{ ...limiter, simple: { ...limiter.simple, limit: 1_000_000_000 } },
						]),
					),
				},
			],
		}),
	);
	const url = await mf.ready;
	const db = (await mf.getD1Database("DB")) as unknown as D1Database;
	if (options.migrate ?? true) await applyMigrations(db);
	return { mf, url, db, dispose: () => mf.dispose() };
}

async function applyMigrations(db: D1Database): Promise<void> {
	const dir = path.join(ROOT, "migrations");
	for (const file of readdirSync(dir)
		.filter((f) => f.endsWith(".sql"))
		.sort()) {
		const statements = readFileSync(path.join(dir, file), "utf8")
			.split("--> statement-breakpoint")
			.map((s) => s.trim())
			.filter(Boolean);
		await db.batch(statements.map((s) => db.prepare(s)));
	}
}

/** How many users the bench seeds: POST /process-user/:id loads go to each in turn, as the reference's wrk script does. */
export const SEEDED_USERS = 2000;

/** Users 1..n, as user<i>@example.com: the rows process_user_data works on and the benchmark's emails go to. */
export async function seedUsers(host: Host, n: number): Promise<void> {
	const statements = [];
	for (let i = 1; i <= n; i++)
		statements.push(host.db.prepare("INSERT INTO users (email, name) VALUES (?, ?)").bind(`user${i}@example.com`, `User ${i}`));
	for (let i = 0; i < statements.length; i += 500) await host.db.batch(statements.slice(i, i + 500));
}
