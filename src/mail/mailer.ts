// The email sender: the seed's Flask-Mail, over the send_email binding.
import { EmailMessage } from "cloudflare:email";
import { buildMime, type OutgoingMail } from "./message";

export interface SentMail {
	/** The Message-ID we put in the message. */
	messageId: string;
	/** The id the provider assigned, when it reports one. */
	providerMessageId: string | null;
}

export interface Mailer {
	readonly from: string;
	send(mail: OutgoingMail): Promise<SentMail>;
}

export function createMailer(binding: SendEmail, from: string): Mailer {
	return {
		from,
		async send(mail) {
			const raw = buildMime(from, mail);
			const sent = await binding.send(new EmailMessage(from, mail.to, raw));
			return { messageId: mail.messageId, providerMessageId: sent?.messageId ?? null };
		},
	};
}
