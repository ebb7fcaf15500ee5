// createApp(): the seed's create_app. Builds the Hono app with its middleware
// and mounts one sub-app per resource. Health and the API description are
// public; the dashboard has its own sign-in; everything else needs a bearer
// token.
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import type { ContextOf } from "./context";
import { dashboard } from "./dashboard";
import { isDashboardPath, renderErrorPage } from "./dashboard/error-page";
import { oncePer } from "./engine";
import { notFound } from "./errors";
import type { AppEnv } from "./http/app-env";
import { requireToken } from "./http/auth";
import { errorHandler } from "./http/errors";
import { answerMethodNotAllowed } from "./http/method-not-allowed";
import { contextFrom, limitBody, requestLog } from "./http/middleware";
import { serveDocs } from "./http/openapi";
import { createRouter } from "./http/openapi-router";
import { enqueue } from "./routes/enqueue";
import { health } from "./routes/health";
import { tasks } from "./routes/tasks";
import { tasksByName } from "./routes/tasks-by-name";
import { users } from "./routes/users";
import { workflows } from "./routes/workflows";

// One cors middleware per list of origins (the config's), not one per request.
const corsOf = oncePer((origins: readonly string[]) =>
	cors({
		origin: [...origins],
		allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"],
		exposeHeaders: ["Location", "Retry-After", "X-Request-Id"],
		maxAge: 600,
	}),
);

// The headers OWASP's REST Security Cheat Sheet asks of an API's responses,
// with hono/secure-headers' values. Those that only concern HTML documents are
// off here and on in the dashboard, whose pages are the only HTML this Worker
// renders: each header is one call into the runtime to look for it and one to
// set it, on every response.
const API_SECURITY_HEADERS = {
	overwrite: false,
	xXssProtection: false,
	xDownloadOptions: false,
	xDnsPrefetchControl: false,
	originAgentCluster: false,
	crossOriginOpenerPolicy: false,
	xPermittedCrossDomainPolicies: false,
	// Nothing here sets X-Powered-By: no call to delete it.
	removePoweredBy: false,
};

/** CORS only for the origins the environment lists; none by default. */
const corsFromConfig: MiddlewareHandler<AppEnv> = (c, next) => {
	const origins = c.get("ctx").config.corsOrigins;
	return origins.length === 0 ? next() : corsOf(origins)(c, next);
};

/** The Hono app; `contextOf` builds each request's AppContext (engine.context). */
export function createApp(contextOf: ContextOf) {
	const app = createRouter();
	app.use(requestId({ headerName: "X-Request-Id" }));
	app.use(requestLog);
	// Defaults only: a sub-app may set its own (the dashboard's CSP and referrer policy).
	app.use(secureHeaders(API_SECURITY_HEADERS));
	app.use(contextFrom(contextOf));
	app.use(corsFromConfig);
	app.use(limitBody);

	app.route("/", health);
	serveDocs(app);
	app.route("/dashboard", dashboard);
	// Before the token check below, so a wrong method on a public route is a
	// 405, not a 401.
	answerMethodNotAllowed(app);

	const api = createRouter();
	api.use(requireToken);
	api.route("/", enqueue);
	api.route("/", tasksByName);
	api.route("/", tasks);
	api.route("/", users);
	api.route("/", workflows);
	const publicRoutes = app.routes.length;
	app.route("/", api);
	answerMethodNotAllowed(app, app.routes.slice(publicRoutes));
	app.notFound(() => {
		throw notFound("Route");
	});
	// Under /dashboard an error is a page; elsewhere the JSON error body.
	app.onError(
		errorHandler((c, error, headers) => (isDashboardPath(c.req.path) ? renderErrorPage(c, error, headers) : undefined)),
	);
	return app;
}
