// The auxiliary Worker of test/app/rpc.test.ts: examples/rpc-caller.ts's code
// in a Worker of its own. In the test pool the Worker under test runs under a
// generated name, so instead of a wrangler binding the test hands this Worker
// the entrypoint's stub (exports.TasksService) over RPC.
import { WorkerEntrypoint } from "cloudflare:workers";
import { type Tasks, welcome } from "../../examples/rpc-caller";

export default class RpcCaller extends WorkerEntrypoint {
	welcome(tasks: Tasks, to: string) {
		return welcome(tasks, to);
	}
}
