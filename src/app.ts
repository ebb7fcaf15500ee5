// createApp(): the seed's create_app. Builds the Hono app with its middleware
// and mounts one sub-app per resource.
import { requestId } from "hono/request-id";
import { notFound } from "./errors";
import { createRouter } from "./http/app-env";
import { onError } from "./http/errors";
import { answerMethodNotAllowed } from "./http/method-not-allowed";
import { context, limitBody } from "./http/middleware";
import { enqueue } from "./routes/enqueue";
import { health } from "./routes/health";
import { tasks } from "./routes/tasks";
import { users } from "./routes/users";

export function createApp() {
	const app = createRouter();
	app.use(requestId({ headerName: "X-Request-Id" }));
	app.use(context);
	app.use(limitBody);

	app.route("/", health);
	app.route("/", enqueue);
	app.route("/", tasks);
	app.route("/", users);

	answerMethodNotAllowed(app);
	app.notFound(() => {
		throw notFound("Route");
	});
	app.onError(onError);
	return app;
}
