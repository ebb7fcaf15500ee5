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
	// character in it can end the header early.
	msg.setSubject(mail.subject);
	msg.setHeader("Message-ID", mail.messageId);
	msg.setHeader("Date", date.toUTCString());
	for (const [name, value] of Object.entries(mail.headers ?? {})) msg.setHeader(name, value);
	// mimetext labels the part but does not encode it; base64 keeps any UTF-8
	// body within SMTP's line-length and 7-bit limits.
	msg.addMessage({ contentType: "text/plain", charset: "UTF-8", encoding: "base64", data: base64Lines(mail.text) });
	return msg.asRaw();
}

function base64Lines(text: string): string {
	return Base64.encode(text)
		.replace(/.{1,76}/g, "$&\r\n")
		.trimEnd();
}
