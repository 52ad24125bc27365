/**
 * Runs one load run in its own process and prints the result as JSON, so the load generator
 * never shares an event loop with the control plane it is measuring.
 * Input: a JSON { target, concurrency, requests } on stdin.
 */
import { runLoad, type LoadTarget } from './load';

async function main(): Promise<void> {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const { target, concurrency, requests } = JSON.parse(input) as { target: LoadTarget; concurrency: number; requests: number };
  const result = await runLoad(target, { concurrency, requests });
  process.stdout.write(JSON.stringify(result));
}

main().catch((err) => {
  process.stderr.write(`load worker failed: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
