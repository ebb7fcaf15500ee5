// Things derived from the isolate's config or bindings (the same objects for
// its lifetime) are computed once, not on every request or batch.

/** Computes f(key) once per key object, for as long as the key lives. */
export function oncePer<K extends object, V>(f: (key: K) => V): (key: K) => V {
	const cache = new WeakMap<K, V>();
	return (key) => {
		let value = cache.get(key);
		if (value === undefined) {
			value = f(key);
			cache.set(key, value);
		}
		return value;
	};
}
