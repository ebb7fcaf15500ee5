// Users: the rows process_user_data works on. POST /users can enqueue the
// welcome email in the same D1 transaction that creates the user (the engine's
// outbox): both exist, or neither does.

import { eq } from "drizzle-orm";
import * as z from "zod";
import { type UserRow, users as usersTable } from "../db/schema";
import { AppError, notFound } from "../errors";
import { authedRoute } from "../http/openapi";
import { createRouter } from "../http/openapi-router";
import { errorResponse, idParam, toUserBody, userBody } from "../http/schemas";
import { emailAddress, sendEmail } from "../tasks/send-email";

const createUserBody = z
	.object({
		// Lower case, as the database keeps it (src/db/schema.ts): one address in any case is one user.
		email: emailAddress.toLowerCase().meta({ example: "ada@example.com" }),
		name: z.string().trim().min(1).max(200).optional().meta({ example: "Ada Lovelace" }),
		welcome_email: z
			.boolean()
			.default(false)
			.meta({ description: "Also enqueue a welcome email, atomically with the user: both are written, or neither" }),
	})
	.strict()
	.meta({ id: "CreateUserRequest" });

export const users = createRouter()
	.openapi(
		authedRoute({
			method: "post",
			path: "/users",
			tags: ["Users"],
			summary: "Create a user",
			request: { body: { required: true, content: { "application/json": { schema: createUserBody } } } },
			responses: {
				201: {
					content: {
						"application/json": {
							schema: userBody
								.extend({ welcome_task_id: z.uuid().optional().meta({ description: "With welcome_email: the email's task" }) })
								.meta({ id: "CreatedUser" }),
						},
					},
					headers: z.object({ Location: z.string().meta({ example: "/users/1" }) }),
					description: "The new user",
				},
				400: errorResponse("The body is not valid JSON or fails validation"),
				409: errorResponse("A user with this email exists"),
				413: errorResponse("The body is larger than MAX_BODY_BYTES"),
				415: errorResponse("The body is not application/json"),
			},
		}),
		async (c) => {
			const { email, name, welcome_email } = c.req.valid("json");
			const { db, tasks } = c.get("ctx");
			const now = new Date();
			const welcome = welcome_email
				? await tasks.prepare(sendEmail, { recipient: email, subject: "Welcome", body: `Welcome${name ? `, ${name}` : ""}!` })
				: undefined;
			// One transaction: the unique index decides, so two racing creates
			// cannot both succeed, and a refused user takes its email task with it.
			const insert = db
				.insert(usersTable)
				.values({ email, name: name ?? null, createdAt: now, updatedAt: now })
				.returning();
			let row: UserRow | undefined;
			try {
				[[row]] = await db.batch([insert, ...(welcome?.statements ?? [])]);
			} catch (err) {
				if (String(err).includes("UNIQUE constraint failed: users.email")) {
					throw new AppError(409, "conflict", "A user with this email already exists");
				}
				throw err;
			}
			if (!row) throw new Error("the user insert returned no row");
			// Committed: now the email's message (or, should this fail, the release sweep within a minute).
			await welcome?.send();
			return c.json({ ...toUserBody(row), ...(welcome && { welcome_task_id: welcome.id }) }, 201, {
				Location: `/users/${row.id}`,
			});
		},
	)
	.openapi(
		authedRoute({
			method: "get",
			path: "/users/{id}",
			tags: ["Users"],
			summary: "Read a user",
			request: { params: z.object({ id: idParam("id") }) },
			responses: {
				200: { content: { "application/json": { schema: userBody } }, description: "The user" },
				400: errorResponse("id is not a positive integer"),
				404: errorResponse("No such user"),
			},
		}),
		async (c) => {
			const { db } = c.get("ctx");
			const row = await db
				.select()
				.from(usersTable)
				.where(eq(usersTable.id, c.req.valid("param").id))
				.get();
			if (!row) throw notFound("User");
			return c.json(toUserBody(row), 200);
		},
	);
