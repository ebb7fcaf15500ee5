// The platform limits the engine works within, each stated once with its
// source. Everything else imports them; nothing writes the numbers again.

/**
 * The longest a Queues message can be delayed, on send or on retry: 12 hours.
 * https://developers.cloudflare.com/queues/configuration/batching-retries/#delay-messages
 */
export const MAX_DELAY_SECONDS = 43_200;

/**
 * How far ahead a task may be scheduled: a year. Past MAX_DELAY_SECONDS the
 * task waits in D1 and the release sweep hands it to the queue once it is due
 * within MAX_DELAY_SECONDS, with the delay left (release.ts).
 */
export const MAX_SCHEDULE_SECONDS = 365 * 86_400;

/**
 * A queue message is at most 128 KB; this leaves room for the platform's
 * per-message overhead (about 100 bytes) and the envelope's own fields.
 * https://developers.cloudflare.com/queues/platform/limits/
 */
export const MAX_MESSAGE_BYTES = 120 * 1024;

/**
 * sendBatch takes at most 100 messages and 256 KB in all; the byte budget
 * leaves room for per-message overhead.
 * https://developers.cloudflare.com/queues/platform/limits/
 */
export const MAX_BATCH_MESSAGES = 100;
export const MAX_BATCH_BYTES = 200 * 1024;

/**
 * A consumer's max_retries when wrangler.toml does not set it: a message
 * retried past it goes to the dead-letter queue.
 * https://developers.cloudflare.com/queues/configuration/batching-retries/#explicit-acknowledgement-and-retries
 */
export const DEFAULT_MAX_RETRIES = 3;

/**
 * D1 binds at most 100 parameters to one statement.
 * https://developers.cloudflare.com/d1/platform/limits/
 */
export const MAX_BOUND_PARAMETERS = 100;

/**
 * A queue consumer invocation may run for 15 minutes of wall time, so no run
 * (and no lease on one) can usefully last longer.
 * https://developers.cloudflare.com/queues/platform/limits/
 */
export const MAX_CONSUMER_WALL_SECONDS = 900;

/**
 * Subrequests (D1 queries, email sends, fetches) per invocation: 50 on the
 * Free plan, 1,000 on Paid. wrangler.toml sizes the consumer's batches from them.
 * https://developers.cloudflare.com/workers/platform/limits/#subrequests
 */
export const SUBREQUESTS = { free: 50, paid: 1000 } as const;

/**
 * A Worker invocation keeps at most six connections open at once; more wait
 * their turn inside the runtime.
 * https://developers.cloudflare.com/workers/platform/limits/#simultaneous-open-connections
 */
export const MAX_OPEN_CONNECTIONS = 6;
