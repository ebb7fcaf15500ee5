// Bounded concurrency over a list: what a batch's runs of one kind, and the
// runs of a failed transactional batch one by one, are run with.

/** Like Promise.allSettled over items.map(work), with at most `limit` running at once. */
export async function mapSettled<T, R>(
	items: readonly T[],
	limit: number,
	work: (item: T) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
	const results: PromiseSettledResult<R>[] = new Array(items.length);
	let next = 0;
	const worker = async () => {
		for (let i = next++; i < items.length; i = next++) {
			try {
				results[i] = { status: "fulfilled", value: await work(items[i] as T) };
			} catch (reason) {
				results[i] = { status: "rejected", reason };
			}
		}
	};
	await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
	return results;
}
