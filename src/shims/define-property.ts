// Babel's defineProperty helper, as @babel/runtime-corejs3 ships it but on the
// runtime's own Object.defineProperty: the corejs3 build routes it through
// core-js-pure's Symbol and defineProperty polyfills. wrangler.toml aliases
// mimetext's import of the helper here.
export default function defineProperty<T extends object>(target: T, key: PropertyKey, value: unknown): T {
	Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true });
	return target;
}
