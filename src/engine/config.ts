// The engine's settings, parsed from the Worker's vars like the app's own (and
// cached per env by the engine): how long results, keys and messages live,
// which queue holds the dead letters, and where completion webhooks may go.
import * as z from "zod";
import { ConfigError } from "./errors";
import { LOG_LEVELS, type LogLevel } from "./log";
import { allowedHostEntry } from "./webhooks/hosts";

const seconds = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

const DAY = 86_400;

export const engineConfigSchema = z
	.object({
		TASKS_DEAD_LETTER_QUEUE: z.string().min(1),
		IDEMPOTENCY_TTL_SECONDS: seconds(60, 30 * DAY, DAY),
		RESULT_TTL_SECONDS: seconds(60, Number.MAX_SAFE_INTEGER, 7 * DAY),
		STUCK_PENDING_SECONDS: seconds(60, DAY, 900),
		// The task queue's message retention: 4 days unless the queue was created
		// with another (up to 14 days; the Free plan keeps messages 24 hours).
		QUEUE_RETENTION_SECONDS: seconds(60, 14 * DAY, 4 * DAY),
		// A secret: signs task ids (ids.ts), so one this deployment never minted
		// is not mistaken for a task still on the queue.
		TASK_ID_SECRET: z
			.string({ error: "is required: a secret of at least 32 random characters that signs task ids" })
			.min(32, { error: "must be at least 32 characters" }),
		// Hosts completion webhooks may be sent to: comma-separated names, or
		// *.example.com for its subdomains. Empty (the default): webhooks are off.
		WEBHOOK_ALLOWED_HOSTS: z
			.string()
			.default("")
			.transform((list) =>
				list
					.split(",")
					.map((host) => host.trim().toLowerCase())
					.filter(Boolean),
			)
			.pipe(z.array(allowedHostEntry)),
		// A secret in the Standard Webhooks format (whsec_ and base64 of 24 to 64
		// random bytes): signs every webhook. Needed once any host is allowed.
		// The least level logged: each line is a console call that Workers Logs
		// stores (and bills past the plan's allowance). At "info", a task writes
		// two lines: enqueued, and how its attempt ended.
		LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
		WEBHOOK_SECRET: z
			.string()
			.refine(
				(secret) => {
					try {
						const bytes = atob(secret.slice("whsec_".length)).length;
						return secret.startsWith("whsec_") && bytes >= 24 && bytes <= 64;
					} catch {
						return false;
					}
				},
				{ error: "must be whsec_ followed by base64 of 24 to 64 random bytes" },
			)
			.optional(),
	})
	// A task's record must outlive every copy of its message: the consumer
	// creates a missing row, so a redelivery after the result expired would run
	// the task again.
	.refine((env) => env.RESULT_TTL_SECONDS >= env.QUEUE_RETENTION_SECONDS, {
		path: ["RESULT_TTL_SECONDS"],
		error: "must be at least QUEUE_RETENTION_SECONDS, so a finished task's record outlives any redelivery of its message",
	})
	// A replayed Idempotency-Key answers from its tasks' records (their ids, and
	// which of a bulk request never reached the queue), so they must outlive it.
	.refine((env) => env.IDEMPOTENCY_TTL_SECONDS <= env.RESULT_TTL_SECONDS, {
		path: ["IDEMPOTENCY_TTL_SECONDS"],
		error: "must be at most RESULT_TTL_SECONDS, so a replayed key's tasks still have their records",
	})
	.refine((env) => env.WEBHOOK_ALLOWED_HOSTS.length === 0 || env.WEBHOOK_SECRET !== undefined, {
		path: ["WEBHOOK_SECRET"],
		error: "is required once WEBHOOK_ALLOWED_HOSTS names a host: every webhook is signed with it",
	});

export type EngineConfig = Readonly<{
	/** Name of the queue that collects the task queue's dead letters. */
	deadLetterQueue: string;
	/** How long an idempotency key is remembered. */
	idempotencyTtlSeconds: number;
	/** How long finished tasks are kept before result expiry deletes them. */
	resultTtlSeconds: number;
	/** A PENDING task this far past due (and not touched since) counts as lost. */
	stuckPendingSeconds: number;
	/** How long the queue keeps a message nobody consumed: a task id older than this with no row is unknown. */
	queueRetentionSeconds: number;
	/** Signs task ids; never logged. */
	taskIdSecret: string;
	/** Where completion webhooks may go: host names, or "*.example.com" for subdomains. Empty: webhooks are off. */
	webhookHosts: readonly string[];
	/** Signs webhooks (Standard Webhooks' whsec_...); never logged. */
	webhookSecret: string | undefined;
	/** The least level the engine's and the app's loggers write. */
	logLevel: LogLevel;
}>;

/** Only these vars are read; any others are the app's. */
export type EngineVars = { [K in keyof z.input<typeof engineConfigSchema>]?: unknown };

/** The Worker's vars parsed by `schema`, or a ConfigError naming each bad variable. The app parses its own with it too. */
export function parseVars<S extends z.ZodType>(schema: S, vars: unknown): z.output<S> {
	const parsed = schema.safeParse(vars);
	if (parsed.success) return parsed.data;
	throw new ConfigError(
		parsed.error.issues.map((issue) => ({ variable: String(issue.path[0] ?? "(env)"), message: issue.message })),
	);
}

export function parseEngineConfig(vars: EngineVars): EngineConfig {
	const env = parseVars(engineConfigSchema, vars);
	return Object.freeze({
		deadLetterQueue: env.TASKS_DEAD_LETTER_QUEUE,
		idempotencyTtlSeconds: env.IDEMPOTENCY_TTL_SECONDS,
		resultTtlSeconds: env.RESULT_TTL_SECONDS,
		stuckPendingSeconds: env.STUCK_PENDING_SECONDS,
		queueRetentionSeconds: env.QUEUE_RETENTION_SECONDS,
		taskIdSecret: env.TASK_ID_SECRET,
		webhookHosts: env.WEBHOOK_ALLOWED_HOSTS,
		webhookSecret: env.WEBHOOK_SECRET,
		logLevel: env.LOG_LEVEL,
	});
}
