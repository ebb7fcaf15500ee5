// Posts N enqueue requests, CONNECTIONS (32) at a time, with autocannon in
// this separate process (the load generator stays off the process that hosts
// Miniflare), and prints the task ids and when the first request went out, as
// JSON. Users 1..<users> are processed in turn, each POST with the
// reference's body ({}). With a prefix, the routes under it (the bench
// entry's bare floor, /__bench/bare).
//   node bench/post.ts <base url> <token> <process_user_data|send_email> <n> <users> [prefix]
import autocannon from "autocannon";
import { CONNECTIONS, PROCESS_USER } from "./drive.ts";

const [url, token, kind, count, seeded, prefix = ""] = process.argv.slice(2);
const n = Number(count);
const users = Number(seeded);
if (!url || !token || (kind !== "process_user_data" && kind !== "send_email") || !(n > 0) || !(users > 0)) {
	throw new Error("usage: node bench/post.ts <base url> <token> <process_user_data|send_email> <n> <users> [prefix]");
}

let next = 0;
const ids: string[] = [];
const started = Date.now();
const result = await autocannon({
	url,
	connections: CONNECTIONS,
	amount: n,
	headers: { authorization: `Bearer ${token}` },
	requests: [
		{
			method: "POST",
			setupRequest(request) {
				const i = next++;
				const json = { ...request.headers, "content-type": "application/json" };
				return kind === "process_user_data"
					? { ...request, path: `${prefix}/process-user/${(i % users) + 1}`, headers: json, body: PROCESS_USER }
					: {
							...request,
							path: `${prefix}/send-email`,
							headers: json,
							body: JSON.stringify({ email: `user${i}@example.com`, subject: "Drain", body: "x" }),
						};
			},
			onResponse(status, body) {
				if (status !== 202) throw new Error(`POST: ${status} ${body}`);
				ids.push((JSON.parse(body) as { task_id: string }).task_id);
			},
		},
	],
});
if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`);
console.log(JSON.stringify({ ids, startedAt: started }));
