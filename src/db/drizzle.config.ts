// drizzle-kit reads this to turn src/db/schema.ts into SQL under migrations/,
// which wrangler applies (`wrangler d1 migrations apply`).
import { defineConfig } from "drizzle-kit";

export default defineConfig({
	dialect: "sqlite",
	schema: "./src/db/schema.ts",
	out: "./migrations",
});
