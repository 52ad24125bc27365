/**
 * `kubegate dev down`: stops the local stack a `dev up --detach` left running, by the pid its
 * stack.json records (SIGTERM, then SIGKILL after a minute), and removes that file.
 */
import { isStackProcessAlive, readStackDescriptor, removeStackDescriptor, type StackDescriptor } from '../../control-plane/cli/stack-descriptor';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function down(stateDir: string): Promise<number> {
  let d: StackDescriptor;
  try {
    d = readStackDescriptor(stateDir);
  } catch {
    process.stdout.write(`no local stack runs from ${stateDir}\n`);
    return 0;
  }
  if (isStackProcessAlive(d)) {
    process.kill(d.pid, 'SIGTERM');
    const deadline = Date.now() + 60_000;
    while (isStackProcessAlive(d)) {
      if (Date.now() > deadline) {
        process.kill(d.pid, 'SIGKILL');
        break;
      }
      await sleep(200);
    }
  }
  removeStackDescriptor(stateDir);
  process.stdout.write(`local stack stopped (pid ${d.pid})\n`);
  return 0;
}
