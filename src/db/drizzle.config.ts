// drizzle-kit reads this to turn the app's and the engine's tables into SQL
// under migrations/, which wrangler applies (`wrangler d1 migrations apply`).
// The files themselves, not src/db/schema.ts: that imports the engine's index,
// which also exports the Durable Object class, whose module (cloudflare:workers)
// only the Workers runtime provides, so drizzle-kit could not load it.
import { defineConfig } from "drizzle-kit";

export default defineConfig({
	dialect: "sqlite",
	schema: ["./src/db/tables.ts", "./src/engine/schema.ts"],
	out: "./migrations",
});
