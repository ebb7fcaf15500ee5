// Counts both sides of FlowControl. The Worker's side: a thin wrapper around
// the FLOW Durable Object namespace, where every method called on a stub it
// hands out (take, give, extend, debounce) is one call, one subrequest, one
// billed Durable Object request. The objects' side: CountingFlowControl, the
// class the bench entry exports in FlowControl's place, which sums what the
// objects' SQLite storage reports (rows read and written, billed as D1's) and
// counts alarms (each a billed request) and setAlarm (each a row written).
// https://developers.cloudflare.com/durable-objects/platform/pricing/
// Bench-only: it lets `npm run bench` report measured Durable Object calls per
// batch next to the D1 round trips.
import { FlowControl } from "../../src/engine";

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

/** Work the FlowControl objects did, all objects together. */
export interface FlowWork {
	/** RPC calls served (the stubs' calls, counted from the other side), or alarms run. */
	count: number;
	/** The storage cursors' rowsRead and rowsWritten, summed. */
	rowsRead: number;
	rowsWritten: number;
	/** setAlarm calls: each is billed as a row written. */
	alarmsSet: number;
	/** deleteAll calls: the object emptied its storage. */
	cleared: number;
}

const emptyWork = (): FlowWork => ({ count: 0, rowsRead: 0, rowsWritten: 0, alarmsSet: 0, cleared: 0 });

/**
 * The objects' counts: RPC calls and alarms apart, since an alarm runs on its
 * own schedule (a rate window's end) and each is a billed request. A Durable
 * Object runs in the isolate of the Worker that defines its class, so the
 * Worker's fetch handler reads these.
 */
export const flowStorage = { calls: emptyWork(), alarms: emptyWork(), alarmsByObject: {} as Record<string, number> };

const counting = (env: unknown) =>
	typeof env === "object" && env !== null && (env as { BENCH_COUNT_D1?: unknown }).BENCH_COUNT_D1 === "1";

/** What one object's storage did since it was last summed. */
interface Pending {
	// A cursor counts its rows as it is read: they are summed once each call is over.
	cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[];
	alarmsSet: number;
	cleared: number;
}

/**
 * FlowControl counting its storage when the Worker's env says BENCH_COUNT_D1.
 * The runtime accepts only its own DurableObjectState, so the counters go on
 * the storage objects themselves rather than on a wrapper.
 */
export class CountingFlowControl extends FlowControl {
	readonly #pending: Pending | undefined;

	constructor(ctx: DurableObjectState, env: unknown) {
		const pending = counting(env) ? countStorage(ctx.storage) : undefined;
		super(ctx, env);
		this.#pending = pending;
	}

	override take(request: Parameters<FlowControl["take"]>[0]) {
		return this.#summed(flowStorage.calls, () => super.take(request));
	}

	override give(request: Parameters<FlowControl["give"]>[0]) {
		return this.#summed(flowStorage.calls, () => super.give(request));
	}

	override debounce(request: Parameters<FlowControl["debounce"]>[0]) {
		return this.#summed(flowStorage.calls, () => super.debounce(request));
	}

	override alarm(): Promise<void> {
		if (this.#pending) {
			const name = this.ctx.id.name ?? this.ctx.id.toString();
			flowStorage.alarmsByObject[name] = (flowStorage.alarmsByObject[name] ?? 0) + 1;
		}
		return this.#summed(flowStorage.alarms, () => super.alarm());
	}

	async #summed<T>(into: FlowWork, call: () => Promise<T>): Promise<T> {
		const pending = this.#pending;
		if (!pending) return call();
		into.count++;
		try {
			return await call();
		} finally {
			for (const cursor of pending.cursors.splice(0)) {
				into.rowsRead += cursor.rowsRead;
				into.rowsWritten += cursor.rowsWritten;
			}
			into.alarmsSet += pending.alarmsSet;
			into.cleared += pending.cleared;
			pending.alarmsSet = 0;
			pending.cleared = 0;
		}
	}
}

/** Counts on the object's own storage, into what it returns. */
function countStorage(storage: DurableObjectStorage): Pending {
	const pending: Pending = { cursors: [], alarmsSet: 0, cleared: 0 };
	const { sql } = storage;
	const exec = sql.exec.bind(sql);
	const setAlarm = storage.setAlarm.bind(storage);
	const deleteAll = storage.deleteAll.bind(storage);
	sql.exec = <T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]) => {
		const cursor = exec<T>(query, ...bindings);
		pending.cursors.push(cursor);
		return cursor;
	};
	storage.setAlarm = (time, options) => {
		pending.alarmsSet++;
		return setAlarm(time, options);
	};
	storage.deleteAll = (options) => {
		pending.cleared++;
		return deleteAll(options);
	};
	return pending;
}
