/**
 * When an agent counts as connected, judged from the store, so every controller replica judges
 * alike: its last heartbeat (every 10 s, recorded in the shared store by whichever replica it
 * is connected to) is at most three beats old. The API's cluster list says so, and a replica
 * without the agent's connection leaves that cluster's requests to the one that has it.
 */
export const AGENT_SILENCE_MS = 30_000;

/** Whether a cluster's agent, last heard at lastSeenAt (epoch ms, 0 = never), counts as connected at `now`. */
export function agentHeardRecently(lastSeenAt: number, now: number): boolean {
  return lastSeenAt > 0 && now - lastSeenAt <= AGENT_SILENCE_MS;
}
