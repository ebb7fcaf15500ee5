// What a task's input, result and side effects' values are: JSON, as D1
// stores them and the queue carries them.
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
