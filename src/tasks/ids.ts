// Task ids are UUIDv7: random, and ordered by the millisecond they were minted.
// The order keeps D1's primary-key inserts local; the timestamp lets the API
// answer for a task that is on the queue but not yet in the result backend.
import { version as uuidVersion, v7, validate } from "uuid";

export const newTaskId = (): string => v7();

/** When a UUIDv7 task id was minted, or undefined for any other id. */
export function mintedAt(id: string): Date | undefined {
	if (!validate(id) || uuidVersion(id) !== 7) return undefined;
	return new Date(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16));
}
