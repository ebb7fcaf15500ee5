// Turns every failure into the one error body:
//   { "error": { "code", "message", "details"?, "request_id" } }
// (or, where the app asks, a page: the dashboard's). The engine's domain
// errors get their statuses here, in one table. Unknown errors are logged and
// answered with a generic 500: nothing leaks.
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { core } from "zod";
import { createLogger, EngineError, type EngineErrorKind, errorMessage, isStorageFailure } from "../engine";
import { AppError, type ErrorCode } from "../errors";

/** Hook for the request validators: a failed validation throws, onError renders. */
export function validationHook(
	result: { success: true } | { success: false; error: { issues: readonly ZodIssue[] }; target: string },
) {
	if (!result.success) throw invalidRequest(result.target, result.error.issues);
}

/** The 400 for a part of the request (its param, query, header or json) that fails its schema. */
export const invalidRequest = (target: string, issues: readonly ZodIssue[]) =>
	new AppError(
		400,
		"validation_error",
		`Invalid request ${target}`,
		issues.map((issue) => ({ path: issue.path.join("."), message: issue.message })),
	);

type ZodIssue = core.$ZodIssue;

/** What the engine's errors mean over HTTP. */
const engineErrors: Record<EngineErrorKind, { status: ContentfulStatusCode; code: ErrorCode }> = {
	invalid_input: { status: 400, code: "validation_error" },
	invalid_cursor: { status: 400, code: "validation_error" },
	unknown_task: { status: 400, code: "unknown_task" },
	task_not_found: { status: 404, code: "not_found" },
	workflow_not_found: { status: 404, code: "not_found" },
	illegal_transition: { status: 409, code: "conflict" },
	idempotency_key_in_flight: { status: 409, code: "conflict" },
	input_too_large: { status: 413, code: "payload_too_large" },
	idempotency_key_reused: { status: 422, code: "idempotency_key_reused" },
	config_error: { status: 500, code: "config_error" },
	queue_unavailable: { status: 503, code: "queue_unavailable" },
	storage_unavailable: { status: 503, code: "storage_unavailable" },
};

// Hono's own exceptions (malformed JSON, wrong content type) carry only a status.
const codeForStatus: Partial<Record<number, ErrorCode>> = {
	400: "invalid_json",
	// hono/csrf: a form posted from another origin.
	403: "forbidden",
	404: "not_found",
	405: "method_not_allowed",
	413: "payload_too_large",
	415: "unsupported_media_type",
};

/** An error as the client will see it. */
export interface ErrorFacts {
	status: ContentfulStatusCode;
	code: ErrorCode;
	message: string;
	details?: unknown;
	requestId?: string | undefined;
}

/** Renders an error as something other than the JSON body (a page), or returns undefined to keep the JSON. */
export type ErrorRenderer = (
	c: Context,
	error: ErrorFacts,
	headers?: Record<string, string>,
) => Response | Promise<Response> | undefined;

/** The app's onError: every failure as ErrorFacts, rendered by `render` or as the JSON body. */
export function errorHandler(render: ErrorRenderer = () => undefined) {
	return (err: Error, c: Context) => {
		const requestId: string | undefined = c.get("requestId");
		const { facts, headers } = factsOf(err, requestId);
		return render(c, facts, headers) ?? jsonError(c, facts, headers);
	};
}

/**
 * Which variable is wrong, and why, is for the operator, not for whoever sent
 * the request (public routes answer it too): the log line has it, the answer
 * only the request id that finds that line.
 */
function misconfigured(message: string, requestId: string | undefined): ErrorFacts {
	createLogger({ request_id: requestId }).error("misconfigured worker", { error: message });
	const find = requestId ? ` (request id ${requestId})` : "";
	return { status: 500, code: "config_error", message: `The Worker is misconfigured; the log has the details${find}`, requestId };
}

function factsOf(err: Error, requestId: string | undefined): { facts: ErrorFacts; headers?: Record<string, string> } {
	const facts = (status: ContentfulStatusCode, code: ErrorCode, message: string, details?: unknown): ErrorFacts => ({
		status,
		code,
		message,
		...(details === undefined ? {} : { details }),
		requestId,
	});
	if ((err instanceof AppError && err.code === "config_error") || (err instanceof EngineError && err.kind === "config_error")) {
		return { facts: misconfigured(err.message, requestId) };
	}
	if (err instanceof AppError) {
		return { facts: facts(err.status, err.code, err.message, err.details), ...(err.headers ? { headers: err.headers } : {}) };
	}
	if (err instanceof EngineError) {
		const { status, code } = engineErrors[err.kind];
		const retryAfter = err.retryAfterSeconds === undefined ? {} : { headers: { "Retry-After": String(err.retryAfterSeconds) } };
		return { facts: facts(status, code, err.message, err.details), ...retryAfter };
	}
	if (err instanceof HTTPException && err.status < 500) {
		const code = codeForStatus[err.status] ?? "validation_error";
		const message = err.message || (code === "forbidden" ? "Cross-site form submission refused" : "Bad request");
		return { facts: facts(err.status, code, message) };
	}
	// D1 failing under an app route (the engine's own routes get the engine's error):
	// an outage to wait out, not a bug.
	if (isStorageFailure(err)) {
		createLogger({ request_id: requestId }).error("D1 unavailable", { error: errorMessage(err) });
		return { facts: facts(503, "storage_unavailable", "The database (D1) is unavailable; try again later") };
	}
	createLogger({ request_id: requestId }).error("unhandled error", { error: errorMessage(err), stack: err.stack });
	return { facts: facts(500, "internal_error", "Internal server error") };
}

function jsonError(c: Context, facts: ErrorFacts, headers?: Record<string, string>) {
	const { status, code, message, details, requestId } = facts;
	return c.json(
		{ error: { code, message, ...(details === undefined ? {} : { details }), request_id: requestId } },
		status,
		headers,
	);
}
