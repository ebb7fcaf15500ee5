// Builds the RFC 5322 message for a plain-text email with mimetext. Kept pure
// (no binding) so the exact bytes we hand to send_email are easy to reason about.
// `mimetext/browser` is the runtime-neutral entry: the default one pulls in
// node:os and the mime-types database, which a text-only email never needs.
import { createMimeMessage } from "mimetext/browser";
import { Base64 } from "../shims/base64";

export interface OutgoingMail {
	to: string;
	subject: string;
	text: string;
	/** RFC 5322 msg-id, brackets included: `<local@domain>`. */
	messageId: string;
	/** Extra headers, e.g. the task id; names must be plain ASCII tokens. */
	headers?: Record<string, string>;
}

export function buildMime(from: string, mail: OutgoingMail, date = new Date()): string {
	const msg = createMimeMessage();
	msg.setSender(from);
	msg.setRecipient(mail.to);
	// mimetext always writes the subject as an RFC 2047 encoded-word, so no
	// character in it can end the header early; foldSubject splits it below.
	msg.setSubject(mail.subject);
	msg.setHeader("Message-ID", mail.messageId);
	msg.setHeader("Date", date.toUTCString());
	for (const [name, value] of Object.entries(mail.headers ?? {})) msg.setHeader(name, value);
	// mimetext labels the part but does not encode it; base64 keeps any UTF-8
	// body within SMTP's line-length and 7-bit limits.
	msg.addMessage({ contentType: "text/plain", charset: "UTF-8", encoding: "base64", data: base64Lines(mail.text) });
	return foldSubject(msg.asRaw(), mail.subject);
}

// RFC 2047 caps an encoded-word at 75 characters and RFC 5322 asks for lines
// of at most 78: 42 bytes of UTF-8 make 56 of base64, a 68-character word, and
// "Subject: " plus one word is 77.
const BYTES_PER_ENCODED_WORD = 42;
const utf8 = new TextEncoder();

/**
 * mimetext writes the whole subject as one encoded-word, however long; a long
 * one breaks RFC 2047's 75 characters per word and, past about 730 bytes,
 * RFC 5322's 998 per line. This rewrites that header as encoded-words of whole
 * characters, one per folded line, which readers join back into the subject.
 */
function foldSubject(raw: string, subject: string): string {
	const words: string[] = [];
	let chunk = "";
	let bytes = 0;
	for (const char of subject) {
		const size = utf8.encode(char).length;
		if (bytes + size > BYTES_PER_ENCODED_WORD) {
			words.push(chunk);
			chunk = "";
			bytes = 0;
		}
		chunk += char;
		bytes += size;
	}
	words.push(chunk);
	const header = `Subject: ${words.map((word) => `=?utf-8?B?${Base64.encode(word)}?=`).join("\r\n ")}`;
	// The headers come first and the body is base64, so the first line that
	// starts with "Subject: " is mimetext's subject header.
	return raw.replace(/^Subject: [^\r\n]*/m, () => header);
}

function base64Lines(text: string): string {
	return Base64.encode(text)
		.replace(/.{1,76}/g, "$&\r\n")
		.trimEnd();
}
