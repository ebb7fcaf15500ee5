// The dashboard (what Flower is to Celery), served by the same Worker under
// /dashboard: server-rendered with hono/html, signed-in with a session cookie,
// state changes as POST forms checked by hono/csrf, and a CSP that allows only
// this Worker's own script and stylesheet.

import { csrf } from "hono/csrf";
import { secureHeaders } from "hono/secure-headers";
import { Hono } from "hono/tiny";
import { notFound } from "../errors";
import type { AppEnv } from "../http/app-env";
import { login } from "./login";
import { overview } from "./overview";
import { requireSession } from "./session";
import { taskDetail } from "./task-detail";
import { tasksList } from "./tasks-list";

export const dashboard = new Hono<AppEnv>();

dashboard.use(
	secureHeaders({
		contentSecurityPolicy: {
			defaultSrc: ["'none'"],
			scriptSrc: ["'self'"],
			styleSrc: ["'self'"],
			imgSrc: ["'self'"],
			connectSrc: ["'self'"],
			formAction: ["'self'"],
			frameAncestors: ["'none'"],
			baseUri: ["'none'"],
		},
		// Not no-referrer: with it, browsers send "Origin: null" on the dashboard's
		// own form posts, and hono/csrf could only rely on Sec-Fetch-Site.
		referrerPolicy: "same-origin",
	}),
);
// Every POST (sign-in included) must come from a page of this origin.
dashboard.use(csrf());
dashboard.route("/", login);
dashboard.use(requireSession);
dashboard.route("/", overview);
dashboard.route("/tasks", tasksList);
dashboard.route("/tasks", taskDetail);
// Here rather than in app.notFound: past the dashboard, the API's bearer-token
// check would answer an unknown page with a JSON 401.
dashboard.all("*", () => {
	throw notFound("Page");
});
