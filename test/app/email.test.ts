// The email as built by mimetext and handed to the real send_email binding,
// parsed back with postal-mime.
import { env } from "cloudflare:workers";
import PostalMime from "postal-mime";
import { afterEach, describe, expect, it, vi } from "vitest";
import { buildMime } from "../../src/mail/message";
import { sendEmail } from "../../src/tasks/send-email";
import { deliver, rawMime, testContext } from "./helpers";

afterEach(() => vi.restoreAllMocks());

async function sendAndCapture(input: { recipient: string; subject: string; body: string }) {
	const send = vi.spyOn(env.MAILER, "send");
	const task = await testContext().tasks.apply(sendEmail, input);
	expect(send).toHaveBeenCalledTimes(1);
	const message = send.mock.calls[0]?.[0];
	const raw = rawMime(message);
	return { task, message, raw, parsed: await PostalMime.parse(raw) };
}

describe("send_email", () => {
	it("hands the binding a message with the right envelope and headers", async () => {
		const { task, message, parsed } = await sendAndCapture({ recipient: "ada@example.com", subject: "Welcome", body: "Hello" });

		expect(message).toMatchObject({ from: "tasks@edge-tasks.dev", to: "ada@example.com" });
		expect(parsed.from?.address).toBe("tasks@edge-tasks.dev");
		expect(parsed.to?.map((a) => a.address)).toEqual(["ada@example.com"]);
		expect(parsed.subject).toBe("Welcome");
		expect(parsed.messageId).toBe(`<task-${task.id}@edge-tasks.dev>`);
		expect(parsed.headers.find((h) => h.key === "x-task-id")?.value).toBe(task.id);
		expect(Date.parse(parsed.date ?? "")).toBeGreaterThan(Date.now() - 60_000);
		expect(parsed.text).toBe("Hello");
		expect(task).toMatchObject({ status: "SUCCESS", result: "Email sent to ada@example.com" });
	});

	it("encodes a non-ASCII subject and body as UTF-8 and round-trips them", async () => {
		const subject = "Grüße aus Zürich — 日本語 ✓";
		const body = "Hällo wörld\nzweite Zeile ✓";
		const { raw, parsed } = await sendAndCapture({ recipient: "ada@example.com", subject, body });

		expect(raw).toMatch(/^Subject: =\?utf-8\?B\?[A-Za-z0-9+/=]+\?=$/m);
		expect(raw).toMatch(/^Content-Type: text\/plain; charset=UTF-8$/m);
		expect(raw).toMatch(/^Content-Transfer-Encoding: base64$/m);
		// Every line is 7-bit and short, as SMTP wants.
		for (const line of raw.split("\r\n")) {
			expect(line).toMatch(/^[\x20-\x7e]*$/);
			expect(line.length).toBeLessThanOrEqual(998);
		}
		expect(parsed.subject).toBe(subject);
		expect(parsed.text).toBe(body);
	});
});

describe("a long subject", () => {
	it("is folded into encoded-words of at most 75 characters, on lines of at most 78, and reads back whole", async () => {
		// 998 bytes of UTF-8 (the most the schema allows) mixing 1-, 2-, 3- and 4-byte characters.
		const subject = Array.from("Grüße, 日本語 🎉 ".repeat(35)).slice(0, 400).join("");
		const bytes = new TextEncoder().encode(subject).length;
		const padded = subject + "x".repeat(998 - bytes);
		expect(new TextEncoder().encode(padded).length).toBe(998);
		const { raw, parsed } = await sendAndCapture({ recipient: "ada@example.com", subject: padded, body: "Hello" });

		const headers = raw.slice(0, raw.indexOf("\r\n\r\n"));
		const folded = headers.match(/^Subject: .*(\r\n .*)*/m)?.[0] ?? "";
		const words = folded.replace(/^Subject: /, "").split("\r\n ");
		expect(words.length).toBeGreaterThan(20);
		for (const word of words) {
			expect(word).toMatch(/^=\?utf-8\?B\?[A-Za-z0-9+/=]+\?=$/);
			expect(word.length).toBeLessThanOrEqual(75);
		}
		for (const line of headers.split("\r\n")) expect(line.length).toBeLessThanOrEqual(78);
		expect(parsed.subject).toBe(padded);
	});
});

describe("header injection", () => {
	// The HTTP and task schemas refuse CR/LF; this checks the MIME layer holds
	// even if something got past them.
	it("cannot add a header through the subject", async () => {
		const raw = buildMime("tasks@edge-tasks.dev", {
			to: "ada@example.com",
			subject: "Hi\r\nBcc: eve@example.com\r\n\r\ninjected body",
			text: "Body",
			messageId: "<t@edge-tasks.dev>",
		});
		const headers = raw.slice(0, raw.indexOf("\r\n\r\n"));
		expect(headers).not.toMatch(/^Bcc:/im);
		expect(raw).not.toContain("injected body");
		const parsed = await PostalMime.parse(raw);
		expect(parsed.bcc).toBeUndefined();
		expect(parsed.text).toBe("Body");
	});
});

describe("a spy on env.MAILER.send (test/apply-migrations.ts)", () => {
	const envelope = (i: number) => ({
		id: crypto.randomUUID(),
		name: "send_email",
		input: { recipient: `u${i}@example.com`, subject: "Hi", body: "Body" },
	});

	it("sees every send, even once the sending code has run often (MAILER is an RPC stub underneath)", async () => {
		const first = vi.spyOn(env.MAILER, "send");
		await deliver(
			Array.from({ length: 12 }, (_, i) => envelope(i)),
			{ env: { ...env } },
		);
		expect(first).toHaveBeenCalledTimes(12);
		vi.restoreAllMocks();

		const again = [envelope(12)];
		await deliver(again);
		const none = vi.spyOn(env.MAILER, "send");
		await deliver(again);
		expect(none).not.toHaveBeenCalled();
		vi.restoreAllMocks();

		const last = vi.spyOn(env.MAILER, "send");
		await deliver([envelope(13)]);
		expect(last).toHaveBeenCalledTimes(1);
	});
});
