// Turns every failure into the one error body:
//   { "error": { "code", "message", "details"?, "request_id" } }
// or, under /dashboard, the same facts as an HTML page.
// Unknown errors are logged and answered with a generic 500: nothing leaks.
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { core } from "zod";
import { ConfigError } from "../config";
import { isDashboardPath, renderErrorPage } from "../dashboard/error-page";
import { AppError, type ErrorCode } from "../errors";
import { createLogger, errorMessage } from "../log";

/** Hook for the request validators: a failed validation throws, onError renders. */
export function validationHook(
	result: { success: true } | { success: false; error: { issues: readonly ZodIssue[] }; target: string },
) {
	if (result.success) return;
	throw new AppError(
		400,
		"validation_error",
		`Invalid request ${result.target}`,
		result.error.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message })),
	);
}

type ZodIssue = core.$ZodIssue;

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

export function onError(err: Error, c: Context) {
	const requestId: string | undefined = c.get("requestId");
	if (err instanceof AppError) {
		return render(c, err.status, err.code, err.message, err.details, err.headers);
	}
	if (err instanceof HTTPException && err.status < 500) {
		const code = codeForStatus[err.status] ?? "validation_error";
		return render(
			c,
			err.status,
			code,
			err.message || (code === "forbidden" ? "Cross-site form submission refused" : "Bad request"),
		);
	}
	if (err instanceof ConfigError) {
		createLogger({ request_id: requestId }).error("misconfigured worker", { error: err.message });
		return render(c, 500, "config_error", err.message);
	}
	createLogger({ request_id: requestId }).error("unhandled error", { error: errorMessage(err), stack: err.stack });
	return render(c, 500, "internal_error", "Internal server error");
}

function render(
	c: Context,
	status: ContentfulStatusCode,
	code: ErrorCode,
	message: string,
	details?: unknown,
	headers?: Record<string, string>,
) {
	const requestId: string | undefined = c.get("requestId");
	if (isDashboardPath(c.req.path)) return renderErrorPage(c, { status, code, message, details, requestId }, headers);
	return c.json(
		{ error: { code, message, ...(details === undefined ? {} : { details }), request_id: requestId } },
		status,
		headers,
	);
}
