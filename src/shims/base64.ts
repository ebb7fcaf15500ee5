// Base64 of a string's UTF-8 bytes, on the runtime's btoa. mimetext's browser
// build imports js-base64 for exactly this and its URL-safe variant;
// wrangler.toml aliases that import here, and the mail module uses it too.
// Well under the engine's limit on a call's arguments.
const CHUNK = 8192;

export const Base64 = {
	encode(text: string): string {
		const bytes = new TextEncoder().encode(text);
		// A character per byte for btoa, a chunk at a time: one string
		// concatenation per byte made this a third of building an email.
		let binary = "";
		for (let i = 0; i < bytes.length; i += CHUNK) binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
		return btoa(binary);
	},

	/** RFC 4648 section 5: URL- and filename-safe, without padding (js-base64's encodeURI). */
	encodeURI(text: string): string {
		return Base64.encode(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
	},
};
