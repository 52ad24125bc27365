/**
 * Runs one load run in its own process and prints the result as JSON, so the load generator
 * never shares an event loop with the control plane it is measuring. The result includes the
 * worker's own CPU time, so the load generator's cost can be told apart from the system's.
 * Input: a JSON { target, concurrency, requests } on stdin.
 */
import { runLoad, type LoadTarget } from './load';

async function main(): Promise<void> {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const { target, concurrency, requests } = JSON.parse(input) as { target: LoadTarget; concurrency: number; requests: number };
  const cpuBefore = process.cpuUsage();
  const result = await runLoad(target, { concurrency, requests });
  const cpu = process.cpuUsage(cpuBefore);
  process.stdout.write(JSON.stringify({ ...result, loadGeneratorCpuSeconds: (cpu.user + cpu.system) / 1e6 }));
}

main().catch((err) => {
  process.stderr.write(`load worker failed: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
