// Where a completion webhook may go. Only https to a host the operator listed
// in WEBHOOK_ALLOWED_HOSTS, on the default port, by name: an IP literal or a
// name that always means this machine or a private network is refused, both
// in the list and in a callback_url, so no configuration can point the Worker
// at an internal address. (A Worker's fetch() cannot reach private networks
// either; this refuses them before anything is written.)
import * as z from "zod";
import { InvalidInputError } from "../errors";

const MAX_URL_LENGTH = 2048;

// RFC 6761 and 6762's special-use names, and suffixes commonly resolved inside
// private networks.
const LOCAL_SUFFIXES = ["localhost", "local", "localdomain", "internal", "intranet", "lan", "home.arpa"];

const isLocalName = (host: string) => LOCAL_SUFFIXES.some((suffix) => host === suffix || host.endsWith(`.${suffix}`));

// The URL parser has already turned every IPv4 spelling (0x7f.1, 2130706433)
// into dotted decimal, and wraps IPv6 in brackets.
const isIpLiteral = (host: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.startsWith("[");

const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** One entry of WEBHOOK_ALLOWED_HOSTS: a public host name, or *.name for its subdomains. */
export const allowedHostEntry = z.string().refine(
	(entry) => {
		const name = entry.startsWith("*.") ? entry.slice(2) : entry;
		return DNS_NAME.test(name) && !isIpLiteral(name) && !isLocalName(name);
	},
	{
		error:
			"each entry must be a public host name with a dot (hooks.example.com) or *.example.com; no IP addresses or local names",
	},
);

const matches = (host: string, entry: string) =>
	entry.startsWith("*.") ? host.endsWith(entry.slice(1)) && host.length > entry.length - 1 : host === entry;

const refused = (message: string) => new InvalidInputError(`callback_url ${message}`, [{ path: "callback_url", message }]);

/**
 * `raw` as the URL a webhook will be sent to, or InvalidInputError saying why
 * it may not be (closed when `allowed` is empty).
 */
export function checkCallbackUrl(raw: string, allowed: readonly string[]): string {
	if (allowed.length === 0) throw refused("is not accepted: webhooks are off until WEBHOOK_ALLOWED_HOSTS names a host");
	if (raw.length > MAX_URL_LENGTH) throw refused(`must be at most ${MAX_URL_LENGTH} characters`);
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		throw refused("must be an absolute URL");
	}
	if (url.protocol !== "https:") throw refused("must use https");
	if (url.username || url.password) throw refused("must not carry credentials");
	if (url.port !== "") throw refused("must use the default port (443)");
	const host = url.hostname;
	if (isIpLiteral(host) || isLocalName(host)) throw refused("must name a public host, not an IP address or a local name");
	if (!allowed.some((entry) => matches(host, entry))) throw refused(`host ${host} is not in WEBHOOK_ALLOWED_HOSTS`);
	url.hash = "";
	return url.href;
}
