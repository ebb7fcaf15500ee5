// A thin wrapper around the FLOW Durable Object namespace that counts what the
// Worker asks of FlowControl: every method called on a stub the namespace
// hands out (take, give, extend, debounce) is one call, one subrequest.
// Bench-only: it lets `npm run bench` report measured Durable Object calls per
// batch next to the D1 round trips.

export interface FlowCounts {
	/** Calls to FlowControl objects, all methods together. */
	flowCalls: number;
	/** The same calls by method name. */
	flowByMethod: Record<string, number>;
}

// Stubs are not thenables; never count `then` (await / Promise resolution probes it).
const NOT_CALLS = new Set(["then", "constructor"]);

function countingStub<S extends object>(stub: S, counts: FlowCounts): S {
	return new Proxy(stub, {
		get(target, prop) {
			const value = Reflect.get(target, prop, target);
			if (typeof value !== "function") return value;
			if (typeof prop !== "string" || NOT_CALLS.has(prop)) return value.bind(target);
			// RPC methods are properties of the stub: each call is one call to the object.
			return (...args: unknown[]) => {
				counts.flowCalls++;
				counts.flowByMethod[prop] = (counts.flowByMethod[prop] ?? 0) + 1;
				return Reflect.apply(value, target, args);
			};
		},
	});
}

/** `ns` is a DurableObjectNamespace of any class; typed loosely so the binding's own type passes through. */
export function countingFlow<N extends object>(ns: N, counts: FlowCounts): N {
	return new Proxy(ns, {
		get(target, prop) {
			const value = Reflect.get(target, prop, target);
			if (typeof value !== "function") return value;
			// get(id) and getByName(name) hand out stubs: count what is called on them.
			if (prop === "get" || prop === "getByName") {
				return (...args: unknown[]) => countingStub(Reflect.apply(value, target, args) as object, counts);
			}
			return value.bind(target);
		},
	});
}
