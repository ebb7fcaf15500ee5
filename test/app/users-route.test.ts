import { describe, expect, it } from "vitest";
import { call, createUser, postJson, rowCounts } from "./helpers";

describe("users", () => {
	it("creates a user and reads it back", async () => {
		const res = await postJson("/users", { email: "grace@example.com", name: "Grace Hopper" });
		expect(res.status).toBe(201);
		const user = await res.json<{ id: number }>();
		expect(user).toMatchObject({ email: "grace@example.com", name: "Grace Hopper", processed: false });
		expect(res.headers.get("Location")).toBe(`/users/${user.id}`);

		const read = await call(`/users/${user.id}`);
		expect(read.status).toBe(200);
		expect(await read.json()).toEqual(user);
	});

	it("answers 409 for a duplicate email and writes nothing", async () => {
		const existing = await createUser();
		const before = await rowCounts();
		const res = await postJson("/users", { email: existing.email });
		expect(res.status).toBe(409);
		expect(await res.json()).toMatchObject({ error: { code: "conflict" } });
		expect(await rowCounts()).toEqual(before);
	});

	it.each([
		["no email", { name: "x" }],
		["a bad email", { email: "nope" }],
		["an empty name", { email: "x@example.com", name: "  " }],
		["an unknown field", { email: "x@example.com", admin: true }],
	])("rejects %s with 400", async (_case, body) => {
		const before = await rowCounts();
		const res = await postJson("/users", body);
		expect(res.status).toBe(400);
		expect(await rowCounts()).toEqual(before);
	});

	it("answers 404 for an unknown user and 400 for a bad id", async () => {
		expect((await call("/users/987654")).status).toBe(404);
		expect((await call("/users/x")).status).toBe(400);
	});
});
