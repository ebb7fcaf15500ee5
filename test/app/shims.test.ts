// src/shims/ stand in for three of mimetext's imports in the deployed bundle
// (wrangler.toml [alias]); the test config resolves them the same way. These
// check that they behave as the code they replace, and that mimetext really
// runs on them here.
import { afterEach, describe, expect, it, vi } from "vitest";
import { buildMime } from "../../src/mail/message";
import { Base64 } from "../../src/shims/base64";
import defineProperty from "../../src/shims/define-property";
import trimOf from "../../src/shims/string-trim";

afterEach(() => vi.restoreAllMocks());

function utf8FromBase64(encoded: string): string {
	const standard = encoded.replaceAll("-", "+").replaceAll("_", "/");
	const padded = standard.padEnd(Math.ceil(standard.length / 4) * 4, "=");
	return new TextDecoder().decode(Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)));
}

describe("Base64 (js-base64's encode and encodeURI)", () => {
	it("matches RFC 4648's test vectors", () => {
		const vectors = {
			"": "",
			f: "Zg==",
			fo: "Zm8=",
			foo: "Zm9v",
			foob: "Zm9vYg==",
			fooba: "Zm9vYmE=",
			foobar: "Zm9vYmFy",
		};
		for (const [text, encoded] of Object.entries(vectors)) expect(Base64.encode(text), text).toBe(encoded);
	});

	// Expected values from js-base64 3.9 and Node's Buffer, which agree.
	it("encodes the UTF-8 bytes of any string, not its UTF-16 code units", () => {
		expect(Base64.encode("Grüße")).toBe("R3LDvMOfZQ==");
		expect(Base64.encode("日本語 ✓")).toBe("5pel5pys6KqeIOKckw==");
		expect(Base64.encode("🎉")).toBe("8J+OiQ==");
	});

	it("encodeURI is URL-safe and unpadded", () => {
		expect(Base64.encode("🎉?>")).toBe("8J+OiT8+");
		expect(Base64.encodeURI("🎉?>")).toBe("8J-OiT8-");
		expect(Base64.encode("ÿÿÿ?")).toBe("w7/Dv8O/Pw==");
		expect(Base64.encodeURI("ÿÿÿ?")).toBe("w7_Dv8O_Pw");
	});

	it("round-trips through the runtime's atob", () => {
		const samples = [
			"",
			"a",
			"plain ASCII",
			"Zeile 1\r\nZeile 2",
			"Grüße aus Zürich — 日本語 ✓ 🎉",
			"x".repeat(1000),
			// Longer than the encoder's chunk, with multi-byte characters across its boundaries: the largest email body.
			"日本語のテキスト🎉".repeat(6250),
		];
		for (const text of samples) {
			expect(utf8FromBase64(Base64.encode(text))).toBe(text);
			expect(utf8FromBase64(Base64.encodeURI(text))).toBe(text);
		}
	});
});

describe("the Babel helpers mimetext imports", () => {
	it("trimOf returns String#trim to be called on the string", () => {
		const text = "  <ada@example.com>\t\n";
		expect(trimOf(text).call(text)).toBe("<ada@example.com>");
	});

	it("defineProperty defines an enumerable, writable, configurable own property", () => {
		const target = defineProperty({}, "name", "value");
		expect(Object.getOwnPropertyDescriptor(target, "name")).toEqual({
			value: "value",
			enumerable: true,
			writable: true,
			configurable: true,
		});
	});
});

describe("mimetext under the aliases", () => {
	it("encodes the subject with the shim, as the deployed bundle does", () => {
		const encode = vi.spyOn(Base64, "encode");
		const raw = buildMime("tasks@edge-tasks.dev", {
			to: "Ada <ada@example.com>",
			subject: "Grüße",
			text: "Hallo",
			messageId: "<task-1@edge-tasks.dev>",
		});
		expect(encode).toHaveBeenCalledWith("Grüße");
		expect(encode).toHaveBeenCalledWith("Ada");
		expect(raw).toContain("\r\nSubject: =?utf-8?B?R3LDvMOfZQ==?=\r\n");
		// The display name was split off with the trim shim and encoded with the base64 one.
		expect(raw).toContain("\r\nTo: =?utf-8?B?QWRh?= <ada@example.com>\r\n");
	});
});
