// Standard Webhooks signatures (https://www.standardwebhooks.com/): HMAC-SHA256
// of "<webhook-id>.<webhook-timestamp>.<body>" keyed with the secret's bytes,
// sent as "v1,<base64>". The runtime's WebCrypto does the HMAC; the tests check
// every signature with the spec's reference library (standardwebhooks).

const encoder = new TextEncoder();

let cached: { secret: string; key: Promise<CryptoKey> } | undefined;

function keyOf(secret: string): Promise<CryptoKey> {
	if (cached?.secret !== secret) {
		const bytes = Uint8Array.from(atob(secret.slice("whsec_".length)), (c) => c.charCodeAt(0));
		cached = { secret, key: crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]) };
	}
	return cached.key;
}

/** The headers that sign `body` as webhook `id`, sent at `timestamp` (seconds since the epoch). */
export async function signatureHeaders(secret: string, id: string, timestamp: number, body: string) {
	const mac = await crypto.subtle.sign("HMAC", await keyOf(secret), encoder.encode(`${id}.${timestamp}.${body}`));
	return {
		"webhook-id": id,
		"webhook-timestamp": String(timestamp),
		"webhook-signature": `v1,${btoa(String.fromCharCode(...new Uint8Array(mac)))}`,
	};
}
