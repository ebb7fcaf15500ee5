// Users: the rows process_user_data works on.

import { eq } from "drizzle-orm";
import * as z from "zod";
import { users as usersTable } from "../db/schema";
import { AppError, notFound } from "../errors";
import { authedRoute } from "../http/openapi";
import { createRouter } from "../http/openapi-router";
import { errorResponse, idParam, toUserBody, userBody } from "../http/schemas";
import { emailAddress } from "../tasks/send-email";

const createUserBody = z
	.object({
		// Lower case, as the database keeps it (src/db/schema.ts): one address in any case is one user.
		email: emailAddress.toLowerCase().meta({ example: "ada@example.com" }),
		name: z.string().trim().min(1).max(200).optional().meta({ example: "Ada Lovelace" }),
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
					content: { "application/json": { schema: userBody } },
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
			const { email, name } = c.req.valid("json");
			const now = new Date();
			// One statement: the unique index decides, so two racing creates
			// cannot both succeed.
			const [row] = await c.var.ctx.db
				.insert(usersTable)
				.values({ email, name: name ?? null, createdAt: now, updatedAt: now })
				.onConflictDoNothing({ target: usersTable.email })
				.returning();
			if (!row) throw new AppError(409, "conflict", "A user with this email already exists");
			return c.json(toUserBody(row), 201, { Location: `/users/${row.id}` });
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
			const row = await c.var.ctx.db
				.select()
				.from(usersTable)
				.where(eq(usersTable.id, c.req.valid("param").id))
				.get();
			if (!row) throw notFound("User");
			return c.json(toUserBody(row), 200);
		},
	);
