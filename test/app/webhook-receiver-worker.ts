// The outside world of test/app/webhooks.test.ts. Every fetch() the Worker
// under test makes lands here (Miniflare's outboundService), as it would reach
// a webhook receiver on the internet; the test reads what arrived, and says
// how to answer, over a service binding.
import { WorkerEntrypoint } from "cloudflare:workers";

export interface Received {
	url: string;
	headers: Record<string, string>;
	body: string;
}

const received: Received[] = [];
/** Per path, the statuses to answer in turn; 204 once they run out. */
const scripts = new Map<string, number[]>();

export default class WebhookReceiver extends WorkerEntrypoint {
	override async fetch(request: Request): Promise<Response> {
		const url = new URL(request.url);
		received.push({ url: request.url, headers: Object.fromEntries(request.headers), body: await request.text() });
		const status = scripts.get(url.pathname)?.shift() ?? 204;
		const headers = new Headers();
		if (status >= 300 && status < 400) headers.set("Location", `${url.origin}/elsewhere`);
		if (status === 429) headers.set("Retry-After", "7");
		return new Response(null, { status, headers });
	}

	/** Answer the next requests to `path` with these statuses. */
	answer(path: string, statuses: number[]): void {
		scripts.set(path, [...statuses]);
	}

	/** What arrived at `path`, oldest first. */
	received(path: string): Received[] {
		return received.filter((r) => new URL(r.url).pathname === path);
	}
}
