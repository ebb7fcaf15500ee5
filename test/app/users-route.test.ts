import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { users } from "../../src/db/schema";
import { call, createUser, postJson, rowCounts, testContext } from "./helpers";

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

	it("takes an email in any case as one address: stored lower case, a case variant is 409", async () => {
		const local = `U${crypto.randomUUID().slice(0, 8)}`;
		const first = await postJson("/users", { email: `${local}@X.example` });
		expect(first.status).toBe(201);
		expect(await first.json()).toMatchObject({ email: `${local.toLowerCase()}@x.example` });
		const before = await rowCounts();
		for (const variant of [`${local.toLowerCase()}@x.example`, `${local.toUpperCase()}@X.EXAMPLE`]) {
			const res = await postJson("/users", { email: variant });
			expect(res.status, variant).toBe(409);
			expect(await res.json()).toMatchObject({ error: { code: "conflict" } });
		}
		expect(await rowCounts()).toEqual(before);
	});

	it("is enforced by the database too: a write of an address that is not lower case is refused", async () => {
		const { db } = testContext();
		const mixed = `Mixed-${crypto.randomUUID()}@example.com`;
		// drizzle wraps D1's error; the trigger's message is its cause.
		const refusal = { cause: expect.objectContaining({ message: expect.stringContaining("users.email must be lower case") }) };
		await expect(db.insert(users).values({ email: mixed })).rejects.toMatchObject(refusal);
		const row = await createUser();
		await expect(db.update(users).set({ email: mixed }).where(eq(users.id, row.id))).rejects.toMatchObject(refusal);
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
