#!/usr/bin/env node
/**
 * kubegate-agent: the relay agent as a process (a pod in a real cluster; a process inside a
 * firewalled site in the local stack). Exits 2 on bad flags, 1 when it cannot start, and stops
 * cleanly on SIGTERM or SIGINT: its in-cluster Envoy drained first (when it knows it), then
 * ServiceAccount last-use times flushed.
 */
import { createAgentLogger } from './log/agent-logger';
import { startAgent, type RunningAgent } from './runtime/agent';
import { AGENT_USAGE, parseAgentFlags } from './runtime/agent-flags';

async function main(): Promise<void> {
  const log = createAgentLogger('agent');
  let parsed;
  try {
    parsed = parseAgentFlags(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`kubegate-agent: ${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  if (parsed.help) {
    process.stdout.write(`${AGENT_USAGE}\n`);
    return;
  }
  let agent: RunningAgent;
  try {
    agent = await startAgent({ ...parsed.props, logger: log });
  } catch (err) {
    log.error('agent could not start', { error: err });
    process.exitCode = 1;
    return;
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    // Drain first: the requests on this pod's tunnels finish while the next pod takes new ones.
    agent
      .drain()
      .then(() => agent.stop())
      .then(
      () => process.exit(0),
      (err: Error) => {
        log.error('stop failed', { error: err });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
