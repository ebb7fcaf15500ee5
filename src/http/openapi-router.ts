// Routes described once: the description validates the request (with
// @hono/zod-validator; headers by their names, below) and, collected, becomes
// the OpenAPI 3.1 document (with zod's own toJSONSchema). It takes the place of
// @hono/zod-openapi, which hands zod's whole namespace to extendZodWithOpenApi
// and so keeps all of zod's 40 locale bundles in the Worker (261 KiB minified;
// see docs/performance.md's Performance section). For the same reason zod is
// imported as `import * as z from "zod"` everywhere (Biome enforces it):
// esbuild can drop what a namespace import does not use, but not what
// `import { z }` brings. Schemas carry their OpenAPI details as zod metadata:
// `.meta({ id: "Task" })` names a component, `.meta({ example })` and
// `.meta({ description })` document a field.
import { zValidator } from "@hono/zod-validator";
import type { Handler, MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { Hono } from "hono/tiny";
import * as z from "zod";
import type { AppEnv } from "./app-env";
import { invalidRequest, validationHook } from "./errors";

type Method = "get" | "post" | "delete";
type ObjectSchema = z.ZodObject<z.ZodRawShape>;
type JsonSchema = Record<string, unknown>;

export interface ResponseConfig {
	description: string;
	content?: { "application/json": { schema: z.ZodType } };
	headers?: ObjectSchema;
}

export interface RouteConfig {
	method: Method;
	/** OpenAPI style: /tasks/{task_id}. */
	path: string;
	tags?: string[];
	summary?: string;
	description?: string;
	security?: Record<string, string[]>[];
	/**
	 * Run before the request is validated, and declared with the responses they
	 * can give (a rate limit and its 429): what the document promises, the
	 * route enforces.
	 */
	middleware?: MiddlewareHandler<AppEnv>[];
	request?: {
		params?: ObjectSchema;
		query?: ObjectSchema;
		headers?: ObjectSchema;
		body?: { required?: boolean; content: { "application/json": { schema: z.ZodType } } };
	};
	responses: Record<number, ResponseConfig>;
}

type Validated<R extends RouteConfig> = {
	param: R["request"] extends { params: infer S extends z.ZodType } ? z.output<S> : never;
	query: R["request"] extends { query: infer S extends z.ZodType } ? z.output<S> : never;
	header: R["request"] extends { headers: infer S extends z.ZodType } ? z.output<S> : never;
	json: R["request"] extends { body: { content: { "application/json": { schema: infer S extends z.ZodType } } } }
		? z.output<S>
		: never;
};

/** What c.req.valid() returns for a route, by target. */
export type RouteInput<R extends RouteConfig> = {
	out: { [K in keyof Validated<R> as [Validated<R>[K]] extends [never] ? never : K]: Validated<R>[K] };
};

export const defineRoute = <R extends RouteConfig>(route: R): R => route;

/** Every route registered through an ApiRouter, for the document. */
const documented: RouteConfig[] = [];

// RFC 9110's media-type grammar: type/subtype, then *( OWS ";" OWS [ name=value ] ),
// a value being a token or a quoted string. application/json and any +json type.
// Written so that each space can belong to one place only: "; ; ; ..." would
// otherwise backtrack exponentially.
const token = "[!#$%&'*+.^_`|~0-9a-z-]+";
const parameter = `${token}=(?:${token}|"(?:[^"\\\\]|\\\\.)*")`;
const jsonMediaType = new RegExp(`^application/(?:${token}\\+)?json(?:[ \\t]*;(?:[ \\t]*${parameter})?)*[ \\t]*$`, "i");
const isJson = (contentType: string) => jsonMediaType.test(contentType);

// Parsed synchronously: zValidator's default, safeParseAsync, runs zod's async
// path (a promise per check) for schemas whose checks are all synchronous, as
// every request schema here is. A schema with an asynchronous check would
// throw here (zod's $ZodAsyncError) instead of validating.
const validationFunction = (schema: z.ZodType, value: unknown) => schema.safeParse(value);
type Target = "param" | "query" | "json";
const validator = (target: Target, schema: z.ZodType) => zValidator(target, schema, validationHook, { validationFunction });

/**
 * The declared headers, each read by its name. zValidator's header target
 * copies every header of the request into an object first (Hono's validator
 * does), which was the costliest step of validating an enqueue: about a tenth
 * of the isolate's time for POST /process-user/:id. A failure throws the
 * same 400 as the other validators' hook (invalidRequest).
 */
function headerValidator(schema: ObjectSchema): MiddlewareHandler {
	const names = Object.keys(schema.shape);
	return async (c, next) => {
		const result = schema.safeParse(Object.fromEntries(names.map((name) => [name, c.req.header(name)])));
		if (!result.success) throw invalidRequest("header", result.error.issues);
		c.req.addValidatedData("header", result.data);
		await next();
	};
}

/**
 * Whether a request carries a non-empty body. Its Content-Length says so when
 * it has one (workerd holds the body to it), as it does for a POST with no
 * body from fetch() or a browser: "0". Only a body sent without a length
 * (chunked) is copied and read to find out: for a POST with Content-Length:
 * 0 that copy cost about 45 µs, nearly a third of the rest of the route.
 */
async function hasBody(request: Request): Promise<boolean> {
	if (request.body === null) return false;
	const length = Number(request.headers.get("content-length") ?? Number.NaN);
	if (Number.isSafeInteger(length) && length >= 0) return length > 0;
	return (await request.clone().arrayBuffer()).byteLength > 0;
}

/** 415 for a body that is not JSON; a JSON body that may be absent is validated only when sent. */
function jsonBody(schema: z.ZodType, required: boolean): MiddlewareHandler[] {
	const validate = validator("json", schema);
	const gate: MiddlewareHandler = async (c, next) => {
		const contentType = c.req.header("content-type");
		if (contentType ? !isJson(contentType) : await hasBody(c.req.raw)) {
			throw new HTTPException(415, { message: "Unsupported Media Type" });
		}
		await next();
	};
	if (required) return [gate, validate];
	const optional: MiddlewareHandler = async (c, next) => {
		// An empty body is an absent one, whatever its content type says.
		const sent = c.req.header("content-type") && (await hasBody(c.req.raw));
		if (sent) return validate(c, next);
		c.req.addValidatedData("json", {});
		await next();
	};
	return [gate, optional];
}

/** A router whose routes validate requests (failures become the API's one error shape) and document themselves. */
export function createRouter() {
	return new ApiRouter();
}

/** A Hono router whose routes validate and document themselves. */
export class ApiRouter extends Hono<AppEnv> {
	openapi<R extends RouteConfig>(route: R, handler: Handler<AppEnv, string, RouteInput<R>>): this {
		documented.push(route);
		const { params, query, headers, body } = route.request ?? {};
		const validators: MiddlewareHandler[] = [
			...(params ? [validator("param", params)] : []),
			// Strict: a misspelt filter (?stat=FAILURE) is a 400, not a list of everything.
			...(query ? [validator("query", query.strict())] : []),
			...(headers ? [headerValidator(headers)] : []),
			...(body ? jsonBody(body.content["application/json"].schema, body.required ?? false) : []),
		];
		this.on(
			[route.method.toUpperCase()],
			[route.path.replaceAll(/\/{(.+?)}/g, "/:$1")],
			...((route.middleware ?? []) as MiddlewareHandler[]),
			...validators,
			handler as Handler,
		);
		return this;
	}
}

export interface DocumentInfo {
	title: string;
	version: string;
	description: string;
}

/** What every operation answers besides its own responses. */
export interface CommonResponses {
	/** Added to each operation that does not document the status itself. */
	responses: Record<number, ResponseConfig>;
	/** Headers on every response. */
	headers: ObjectSchema;
}

/** The OpenAPI 3.1 document for every route registered so far. */
export function openApiDocument(info: DocumentInfo, securitySchemes: Record<string, JsonSchema>, common: CommonResponses) {
	const components: Record<string, JsonSchema> = {};
	const ref = (id: string) => `#/components/schemas/${id}`;

	// A schema as JSON Schema: named ones (meta id) become components and are
	// referenced, nested names included.
	const toJson = (schema: z.ZodType, io: "input" | "output"): JsonSchema => {
		const id = z.globalRegistry.get(schema)?.id;
		if (id && components[id]) return { $ref: ref(id) };
		const {
			$schema: _,
			$defs,
			id: __,
			...json
		} = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as JsonSchema & {
			$defs?: Record<string, JsonSchema>;
		};
		const hoist = (node: JsonSchema) => JSON.parse(JSON.stringify(node).replaceAll('"#/$defs/', `"${ref("")}`)) as JsonSchema;
		for (const [name, def] of Object.entries($defs ?? {})) components[name] ??= hoist(def);
		// The root itself may come back as a reference into $defs.
		if (!id || (typeof json.$ref === "string" && Object.keys(json).length === 1)) return hoist(json);
		components[id] = hoist(json);
		return { $ref: ref(id) };
	};
	const parameters = (where: "path" | "query" | "header", schema: ObjectSchema | undefined) =>
		Object.entries(schema?.shape ?? {}).map(([name, field]) => {
			const json = toJson(field as z.ZodType, "input");
			const { description, ...rest } = json;
			return {
				name,
				in: where,
				required: where === "path" || !(field as z.ZodType).safeParse(undefined).success,
				...(description ? { description } : {}),
				schema: rest,
			};
		});

	const paths: Record<string, Record<string, unknown>> = {};
	for (const route of documented) {
		const { params, query, headers, body } = route.request ?? {};
		const operation = {
			...(route.tags ? { tags: route.tags } : {}),
			...(route.summary ? { summary: route.summary } : {}),
			...(route.description ? { description: route.description } : {}),
			...(route.security ? { security: route.security } : {}),
			parameters: [...parameters("path", params), ...parameters("query", query), ...parameters("header", headers)],
			...(body
				? {
						requestBody: {
							required: body.required ?? false,
							content: { "application/json": { schema: toJson(body.content["application/json"].schema, "input") } },
						},
					}
				: {}),
			responses: Object.fromEntries(
				Object.entries({ ...common.responses, ...route.responses }).map(([status, response]) => [
					status,
					{
						description: response.description,
						headers: Object.fromEntries(
							Object.entries({ ...common.headers.shape, ...response.headers?.shape }).map(([name, field]) => {
								const { description, ...schema } = toJson(field as z.ZodType, "output");
								return [name, { ...(description ? { description } : {}), schema }];
							}),
						),
						...(response.content
							? { content: { "application/json": { schema: toJson(response.content["application/json"].schema, "output") } } }
							: {}),
					},
				]),
			),
		};
		paths[route.path] = { ...paths[route.path], [route.method]: operation };
	}
	return { openapi: "3.1.0", info, paths, components: { schemas: components, securitySchemes } };
}
