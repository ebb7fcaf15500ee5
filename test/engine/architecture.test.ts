// The engine/app edge and the absence of import circles, read from the
// sources themselves: CI fails when either is broken.
import { describe, expect, it } from "vitest";
import { circles, importGraph, importProblems, specifiers } from "./imports";

// Every source file's text, bundled by Vite at test time.
const globbed = import.meta.glob("../../src/**/*.{ts,tsx}", { query: "?raw", import: "default", eager: true });
const sources = Object.fromEntries(Object.entries(globbed).map(([path, text]) => [path.replace(/^(\.\.\/)+/, ""), String(text)]));

describe("architecture", () => {
	it("reads the whole of src/", () => {
		expect(Object.keys(sources)).toEqual(expect.arrayContaining(["src/index.ts", "src/engine/index.ts", "src/app.ts"]));
		expect(importGraph(sources).get("src/index.ts")).toEqual(
			expect.arrayContaining(["src/app.ts", "src/engine/index.ts", "src/tasks/index.ts"]),
		);
	});

	it("has no import circle, no engine import of the app, and no app import past the engine's entry", () => {
		expect(importProblems(sources)).toEqual([]);
	});
});

describe("the import checker fails when the rules are broken", () => {
	const base = {
		"src/engine/index.ts": 'export { createEngine } from "./engine";',
		"src/engine/engine.ts": 'import * as z from "zod";\nexport const createEngine = () => z;',
		"src/app.ts": 'import { createEngine } from "./engine";',
	};

	it("passes a tree that keeps them", () => {
		expect(importProblems(base)).toEqual([]);
	});

	it("finds an import circle, type-only imports included", () => {
		const tree = {
			...base,
			"src/a.ts": 'import type { B } from "./b";',
			"src/b.ts": 'import { a } from "./a";',
		};
		expect(importProblems(tree)).toEqual(["import circle: src/a.ts -> src/b.ts"]);
		expect(circles(new Map([["x", ["x"]]]))).toEqual([["x"]]);
	});

	it("finds an engine file importing the app, or Hono", () => {
		const tree = {
			...base,
			"src/context.ts": "export interface AppContext {}",
			"src/engine/define.ts": 'import type { AppContext } from "../context";\nimport { Hono } from "hono";',
		};
		expect(importProblems(tree)).toEqual([
			"src/engine/define.ts imports src/context.ts, outside src/engine/",
			'src/engine/define.ts imports the package "hono", which the engine must not depend on',
		]);
	});

	it("finds app code reaching past the engine's public entry", () => {
		const tree = { ...base, "src/routes/x.ts": 'import { createEngine } from "../engine/engine";' };
		expect(importProblems(tree)).toEqual([
			"src/routes/x.ts imports src/engine/engine.ts; the app may import only src/engine/index.ts",
		]);
	});

	it("reads every form of import and export, and no string that only looks like one", () => {
		const text = [
			'import a from "./a";',
			'import type { B } from "./b";',
			'import * as c from "./c";',
			'export { d } from "./d";',
			'export * from "./e";',
			'import "./f";',
			'const g = await import("./g");',
			// biome-ignore lint/suspicious/noTemplateCurlyInString: this string is source code holding a template literal
			'const page = `<script>import { x } from "${url}";</script>`;',
		].join("\n");
		expect(specifiers(text)).toEqual(["./a", "./b", "./c", "./d", "./e", "./f", "./g"]);
	});
});
