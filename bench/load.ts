// One autocannon load, in a process of its own (bench/run.ts starts it), so
// that the load generator does not share an event loop with Miniflare. Prints
// autocannon's result as JSON. A route with "{id}" is sent with the ids
// 1..users in turn, as the Flask + Celery reference's wrk script sends
// POST /process-user/<id>: load spread over every seeded user, not one.
import autocannon from "autocannon";

export interface LoadOptions {
	url: string;
	route: string;
	users: number;
	connections: number;
	seconds: number;
	method: "GET" | "POST";
	headers: Record<string, string>;
	body?: string | undefined;
}

const options = JSON.parse(process.argv[2] ?? "{}") as LoadOptions;
let next = 0;
const path = () => options.route.replace("{id}", String((next++ % options.users) + 1));
const result = await autocannon({
	url: options.url,
	connections: options.connections,
	duration: options.seconds,
	method: options.method,
	headers: options.headers,
	body: options.body,
	requests: [{ setupRequest: (request) => ({ ...request, path: path() }) }],
});
process.stdout.write(JSON.stringify(result));
