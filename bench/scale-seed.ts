// The scale benchmark's data, written in SQL so a million rows take seconds:
// finished tasks spread evenly over 30 days, as the engine would have left
// them (results, errors, failed-attempt history, the email effect, webhooks
// dispatched, idempotency keys, two-step chains), plus a fixed set of
// unfinished tasks, the same at every scale: what is in flight, delayed or
// stuck does not grow with the history behind it. Every value derives from
// the row number, so a run is reproducible.
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
export const SPAN_MS = 30 * DAY_MS;

export interface Statement {
	sql: string;
	params: (number | string)[];
}

/** Finished tasks per INSERT: big enough to be quick, small enough for one statement's memory. */
const CHUNK = 50_000;

// A task id: UUIDv7-shaped (its first 48 bits are created_at), unique by row number.
const id = (t: string, h: string, i: string) =>
	`lower(printf('%012x', ${t})) AS tx, printf('-7%03x-%x%03x-%012x', ${h} % 4096, 8 + ${h} % 4, ${h} / 4096 % 4096, ${i}) AS tail`;
const ID = "substr(tx, 1, 8) || '-' || substr(tx, 9, 4) || tail";

// A few hundred bytes of email body, cut at a different length per row.
const LOREM =
	"Hello, thank you for your order. It has left our warehouse and is on its way to you. You can follow the parcel with the link below; " +
	"delivery usually takes two to four working days. If anything is missing or damaged, answer this email and our support team will " +
	"sort it out within one working day. We hope you enjoy it, and we look forward to seeing you again soon. Kind regards, the shop team.";

// The failed-attempt history entry `k` of a row, as store/history.ts appends it.
const entry = (k: number, status: "RETRY" | "FAILURE") =>
	`json_object('attempt', ${k}, 'at', started + ${k - 1} * 30000 + run_ms, 'status', '${status}', 'error', err, 'delaySeconds', ${
		status === "RETRY" ? 5 * 2 ** (k - 1) : "null"
	})`;

/**
 * Inserts finished tasks ?1..?2 (row numbers) of ?4, created over the 30 days
 * before ?3 (now, in ms). Parameters: 1 first row, 2 last row, 3 now, 4 total, 5 email body text.
 */
const INSERT_FINISHED = `WITH RECURSIVE n(i) AS (SELECT CAST(?1 AS INTEGER) UNION ALL SELECT i + 1 FROM n WHERE i < ?2),
-- Bound numbers may arrive as REAL: every derived value is an integer.
r AS (SELECT i, (i * 2654435761) % 4294967296 AS h, CAST(?3 AS INTEGER) - ${SPAN_MS} + i * ${SPAN_MS} / CAST(?4 AS INTEGER) AS t FROM n),
s AS (SELECT i, h, t, ${id("t", "h", "i")},
	CASE WHEN h % 1000 < 880 THEN 'SUCCESS' WHEN h % 1000 < 960 THEN 'FAILURE' ELSE 'REVOKED' END AS status,
	CASE WHEN h / 1000 % 100 < 58 THEN 'send_email' WHEN h / 1000 % 100 < 83 THEN 'process_user_data'
		WHEN h / 1000 % 100 < 89 THEN 'send_report' WHEN h / 1000 % 100 < 93 THEN 'deliver_webhook'
		WHEN h / 1000 % 100 < 97 THEN 'release_due_tasks' WHEN h / 1000 % 100 < 98 THEN 'daily_summary'
		WHEN h / 1000 % 100 < 99 THEN 'recover_stuck_tasks' ELSE 'expire_results' END AS name,
	'user' || (h / 7 % 50000) || '@example' || (h % 7) || '.com' AS recipient,
	1 + h / 7 % 100000 AS user_id,
	t + 20 + h % 900 AS started,
	50 + h % 2500 AS run_ms,
	-- Failed attempts before the outcome: most tasks succeed first time.
	CASE h / 100000 % 10 WHEN 0 THEN 1 WHEN 1 THEN 2 ELSE 0 END AS retries
	FROM r),
e AS (SELECT *, CASE name
		WHEN 'send_email' THEN 'SMTP 451 4.7.1 greylisted by mx.example' || (h % 7) || '.com, try again later'
		WHEN 'deliver_webhook' THEN 'webhook not delivered: the receiver answered 503'
		WHEN 'process_user_data' THEN 'D1_ERROR: Network connection lost.'
		ELSE 'Error: upstream answered 502 Bad Gateway' END AS err
	FROM s)
INSERT INTO tasks (id, name, payload, status, result, error, attempts, created_at, started_at, finished_at, updated_at,
	due_at, history, callback_url, callback_task_id, workflow_id, workflow_step)
SELECT ${ID}, name,
	CASE name
		WHEN 'send_email' THEN json_object('recipient', recipient, 'subject', 'Your order #' || i || ' has shipped',
			'body', substr(?5, 1 + h % 60, 150 + h % 300))
		WHEN 'process_user_data' THEN json_object('user_id', user_id)
		WHEN 'send_report' THEN json_object('to', 'ops@example.com', 'subject', 'Nightly import', 'results', json_array(
			json_object('task_id', ${ID}, 'name', 'process_user_data', 'status', 'SUCCESS', 'result', 'Processed user ' || user_id, 'error', NULL)))
		WHEN 'deliver_webhook' THEN json_object('task_id', ${ID})
		WHEN 'daily_summary' THEN json_object('hours', 24)
		WHEN 'recover_stuck_tasks' THEN json_object('limit', 200)
		WHEN 'expire_results' THEN json_object('chunk_size', 500, 'max_chunks', 20)
		ELSE '{}' END,
	status,
	CASE WHEN status <> 'SUCCESS' THEN NULL ELSE CASE name
		WHEN 'send_email' THEN json_quote('Email sent to ' || recipient)
		WHEN 'process_user_data' THEN json_quote('Processed user ' || user_id)
		WHEN 'send_report' THEN json_object('to', 'ops@example.com', 'succeeded', 1, 'failed', 0)
		WHEN 'deliver_webhook' THEN json_object('status', 200, 'webhook_id', ${ID})
		WHEN 'release_due_tasks' THEN json_object('released', 0, 'more', json('false'))
		WHEN 'daily_summary' THEN json_object('since', strftime('%Y-%m-%dT%H:%M:%fZ', t / 1000 - 86400, 'unixepoch'), 'total', 1000 + h % 9000,
			'by_state', json_object('SUCCESS', 900 + h % 8000, 'FAILURE', h % 700, 'REVOKED', h % 90),
			'by_name', json_object('send_email', json_object('SUCCESS', 600 + h % 5000, 'FAILURE', h % 500),
				'process_user_data', json_object('SUCCESS', 300 + h % 3000, 'FAILURE', h % 200)))
		WHEN 'recover_stuck_tasks' THEN json_object('redelivered', 0, 'failed', 0, 'ids', json_array(), 'webhooks_dispatched', 0)
		ELSE json_object('deleted_tasks', h % 2000, 'deleted_idempotency_keys', h % 50, 'deleted_workflows', 0, 'backlog_left', json('false'))
		END END,
	CASE status WHEN 'FAILURE' THEN err WHEN 'REVOKED' THEN 'revoked' END,
	CASE status WHEN 'REVOKED' THEN 0 WHEN 'FAILURE' THEN 1 + retries % 2 ELSE 1 + retries END,
	t,
	CASE WHEN status <> 'REVOKED' THEN started + retries * 30000 END,
	started + retries * 30000 + run_ms,
	started + retries * 30000 + run_ms,
	t,
	CASE
		WHEN status = 'FAILURE' AND retries % 2 = 1 THEN json_array(${entry(1, "RETRY")}, ${entry(2, "FAILURE")})
		WHEN status = 'FAILURE' THEN json_array(${entry(1, "FAILURE")})
		WHEN status = 'SUCCESS' AND retries = 2 THEN json_array(${entry(1, "RETRY")}, ${entry(2, "RETRY")})
		WHEN status = 'SUCCESS' AND retries = 1 THEN json_array(${entry(1, "RETRY")})
		ELSE '[]' END,
	-- 2% report to a completion webhook, long since dispatched.
	CASE WHEN h / 1000000 % 50 = 0 THEN 'https://hooks.example.com/edge-tasks' END,
	CASE WHEN h / 1000000 % 50 = 0 THEN printf('%08x-0000-7000-8000-%012x', t / 65536, i) END,
	-- Every 250th pair of rows is a two-step chain.
	CASE WHEN i % 250 < 2 THEN printf('%08x-0000-7000-9000-%012x', t / 65536, i - i % 250) END,
	CASE WHEN i % 250 < 2 THEN i % 250 END
FROM e`;

/**
 * Rows that go with the finished tasks created in [from, to): send_email's and
 * send_report's recorded email, an idempotency key for one task in five, the
 * chains' workflows.
 */
function related(from: number, to: number, now: number): Statement[] {
	return [
		{
			sql: `INSERT INTO task_effects (task_id, key, value, recorded_at)
			SELECT id, 'email', json_object('message_id', '<task-' || id || '@example.com>', 'provider_message_id', '<' || substr(id, 25) || '@mail.example.net>'),
				finished_at - 5
			FROM tasks WHERE created_at >= ?1 AND created_at < ?2 AND status = 'SUCCESS' AND name IN ('send_email', 'send_report')`,
			params: [from, to],
		},
		{
			// Keys last a day and hourly expiry sweeps them: only the last 25 hours' are left.
			sql: `INSERT INTO idempotency_keys (key, fingerprint, task_id, state, created_at, expires_at)
			SELECT 'checkout-' || id, lower(hex(substr(id, 1, 16))), id, 'sent', created_at, created_at + ${DAY_MS}
			FROM tasks WHERE created_at >= ?1 AND created_at < ?2 AND rowid % 5 = 0`,
			params: [Math.max(from, now - 25 * HOUR_MS), to],
		},
		{
			sql: `INSERT INTO workflows (id, kind, members, done, created_at)
			SELECT workflow_id, 'chain', 2, 2, created_at
			FROM tasks WHERE created_at >= ?1 AND created_at < ?2 AND workflow_id IS NOT NULL AND workflow_step = 0`,
			params: [from, to],
		},
	];
}

/** The unfinished tasks, the same ones at every scale; ?1 is now, in ms. */
const INSERT_UNFINISHED = `WITH RECURSIVE n(j, now) AS (SELECT 0, CAST(?1 AS INTEGER) UNION ALL SELECT j + 1, now FROM n WHERE j < 529),
k AS (SELECT j, now, CASE
		WHEN j < 100 THEN 'in flight'
		WHEN j < 130 THEN 'running'
		WHEN j < 150 THEN 'retrying'
		WHEN j < 180 THEN 'delayed'
		WHEN j < 330 THEN 'lease expired'
		WHEN j < 480 THEN 'message lost'
		ELSE 'retry lost' END AS kind,
	-- The stuck ones are up to 30 days old; the rest were enqueued in the last two minutes.
	CASE WHEN j < 180 THEN now - 1000 * (j % 120) - 500 ELSE now - ${SPAN_MS} + j * 7 * 3600000 % ${SPAN_MS} END AS t
	FROM n),
s AS (SELECT j, kind, t, now, ${id("t", "j", "4000000000 + j")},
	CASE kind WHEN 'running' THEN 'STARTED' WHEN 'lease expired' THEN 'STARTED' WHEN 'retrying' THEN 'RETRY' WHEN 'retry lost' THEN 'RETRY'
		ELSE 'PENDING' END AS status
	FROM k)
INSERT INTO tasks (id, name, payload, status, error, attempts, created_at, started_at, updated_at, lease_expires_at,
	next_attempt_at, due_at, history, unsent)
SELECT ${ID}, 'process_user_data', json_object('user_id', 1 + j), status,
	CASE WHEN status = 'RETRY' THEN 'D1_ERROR: Network connection lost.' END,
	CASE status WHEN 'PENDING' THEN 0 ELSE 1 END,
	t,
	CASE WHEN status <> 'PENDING' THEN t + 40 END,
	CASE status WHEN 'RETRY' THEN t + 1000 ELSE t + 40 END,
	CASE status WHEN 'STARTED' THEN t + 30000 + CASE kind WHEN 'running' THEN 120000 ELSE 0 END END,
	CASE status WHEN 'RETRY' THEN t + 6000 + CASE kind WHEN 'retrying' THEN 120000 ELSE 0 END END,
	CASE kind WHEN 'delayed' THEN now + (1 + j % 3) * ${DAY_MS} ELSE t END,
	CASE WHEN status = 'RETRY' THEN json_array(json_object('attempt', 1, 'at', t + 1000, 'status', 'RETRY',
		'error', 'D1_ERROR: Network connection lost.', 'delaySeconds', 5)) ELSE '[]' END,
	CASE kind WHEN 'delayed' THEN 1 END
FROM s`;

/** The statements that seed `total` finished tasks and the unfinished set, in order, with their parameters. */
export function seedStatements(total: number, now: number): Statement[] {
	const out: Statement[] = [];
	const createdAt = (i: number) => now - SPAN_MS + Math.floor((i * SPAN_MS) / total);
	for (let first = 0; first < total; first += CHUNK) {
		const last = Math.min(first + CHUNK, total) - 1;
		out.push({ sql: INSERT_FINISHED, params: [first, last, now, total, LOREM] });
		out.push(...related(createdAt(first), last + 1 < total ? createdAt(last + 1) : now, now));
	}
	out.push({ sql: INSERT_UNFINISHED, params: [now] });
	return out;
}
