// Reads the import graph of a set of source files (path -> text) and finds
// what the architecture forbids: import circles anywhere, an engine file that
// imports outside src/engine/ (or a package the engine must not know), and
// app code that reaches past the engine's one public entry.

export type Sources = Readonly<Record<string, string>>;

const ENGINE = "src/engine/";
const ENGINE_ENTRY = "src/engine/index.ts";
/** Packages the engine may import: its own stack, nothing of the app's (no Hono, no mail). */
// cloudflare:workers is the runtime itself (the Durable Object base class), not a package.
const ENGINE_PACKAGES = [/^zod(\/|$)/, /^drizzle-orm(\/|$)/, /^uuid$/, /^cloudflare:workers$/];

// import x from "y"; import type { x } from "y"; export { x } from "y"; import "y"; import("y")
const SPECIFIER =
	/^\s*(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm;

export function specifiers(text: string): string[] {
	return [...text.matchAll(SPECIFIER)].map((m) => m[1] ?? m[2] ?? "").filter(Boolean);
}

function resolve(from: string, specifier: string, files: ReadonlySet<string>): string | undefined {
	const parts = from.split("/").slice(0, -1);
	for (const part of specifier.split("/")) {
		if (part === "..") parts.pop();
		else if (part !== ".") parts.push(part);
	}
	const base = parts.join("/");
	return [base, `${base}.ts`, `${base}.tsx`, `${base}/index.ts`, `${base}/index.tsx`].find((path) => files.has(path));
}

/** path -> the source files it imports (relative imports only). */
export function importGraph(sources: Sources): Map<string, string[]> {
	const files = new Set(Object.keys(sources));
	const graph = new Map<string, string[]>();
	for (const [path, text] of Object.entries(sources)) {
		const targets = specifiers(text)
			.filter((s) => s.startsWith("."))
			.map((s) => resolve(path, s, files))
			.filter((t): t is string => t !== undefined);
		graph.set(path, [...new Set(targets)]);
	}
	return graph;
}

/** Every import circle, as the files in it (Tarjan's strongly connected components). */
export function circles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
	let counter = 0;
	const index = new Map<string, number>();
	const low = new Map<string, number>();
	const stack: string[] = [];
	const onStack = new Set<string>();
	const found: string[][] = [];
	const visit = (v: string) => {
		index.set(v, counter);
		low.set(v, counter++);
		stack.push(v);
		onStack.add(v);
		for (const w of graph.get(v) ?? []) {
			if (!index.has(w)) {
				visit(w);
				low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
			} else if (onStack.has(w)) {
				low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
			}
		}
		if (low.get(v) !== index.get(v)) return;
		const component: string[] = [];
		for (let w = stack.pop(); w !== undefined; w = stack.pop()) {
			onStack.delete(w);
			component.push(w);
			if (w === v) break;
		}
		if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
	};
	for (const v of graph.keys()) if (!index.has(v)) visit(v);
	return found;
}

/** Every import the architecture forbids, as one line each; empty when all is well. */
export function importProblems(sources: Sources): string[] {
	const graph = importGraph(sources);
	const problems = circles(graph).map((files) => `import circle: ${files.join(" -> ")}`);
	for (const [path, text] of Object.entries(sources)) {
		const inEngine = path.startsWith(ENGINE);
		for (const specifier of specifiers(text)) {
			if (!specifier.startsWith(".")) {
				if (inEngine && !ENGINE_PACKAGES.some((allowed) => allowed.test(specifier))) {
					problems.push(`${path} imports the package "${specifier}", which the engine must not depend on`);
				}
				continue;
			}
			const target = resolve(path, specifier, new Set(Object.keys(sources)));
			if (!target) continue;
			if (inEngine && !target.startsWith(ENGINE)) problems.push(`${path} imports ${target}, outside src/engine/`);
			if (!inEngine && target.startsWith(ENGINE) && target !== ENGINE_ENTRY) {
				problems.push(`${path} imports ${target}; the app may import only ${ENGINE_ENTRY}`);
			}
		}
	}
	return problems;
}
