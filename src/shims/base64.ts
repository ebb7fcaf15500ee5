// Base64 of a string's UTF-8 bytes, on the runtime's btoa. mimetext's browser
// build imports js-base64 for exactly this and its URL-safe variant;
// wrangler.toml aliases that import here, and the mail module uses it too.
export const Base64 = {
	encode(text: string): string {
		let binary = "";
		for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
		return btoa(binary);
	},

	/** RFC 4648 section 5: URL- and filename-safe, without padding (js-base64's encodeURI). */
	encodeURI(text: string): string {
		return Base64.encode(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
	},
};
