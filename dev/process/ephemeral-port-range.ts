/**
 * The kernel's ephemeral port range (net.ipv4.ip_local_port_range): where the local ports of
 * outgoing connections come from. A port picked for a server from inside that range can be
 * taken by some connection between the picking and the binding; see free-port.ts.
 */
import * as fs from 'node:fs';

export interface PortRange {
  readonly low: number;
  readonly high: number;
}

export const EPHEMERAL_RANGE_FILE = '/proc/sys/net/ipv4/ip_local_port_range';

/** `net.ipv4.ip_local_port_range` as the kernel prints it ("32768\t60999"). */
export function parsePortRange(text: string): PortRange {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(text);
  const low = m ? Number(m[1]) : NaN;
  const high = m ? Number(m[2]) : NaN;
  if (!m || !(low >= 1 && low <= high && high <= 65535)) throw new Error(`not a port range: ${JSON.stringify(text)}`);
  return { low, high };
}

/** This network namespace's range, or undefined where the kernel does not say (not Linux). */
export function hostEphemeralRange(): PortRange | undefined {
  try {
    return parsePortRange(fs.readFileSync(EPHEMERAL_RANGE_FILE, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The lowest port picked for servers: clear of well-known and registered low ports. */
const SERVER_PORTS_FROM = 10_000;
const MIN_SERVER_RANGE = 2000;

/**
 * Where to pick servers' ports: below the ephemeral range, so no outgoing connection can take
 * one between the picking and the binding. Undefined when there is not enough room there.
 */
export function serverPortRange(ephemeral: PortRange | undefined): PortRange | undefined {
  if (!ephemeral || ephemeral.low - SERVER_PORTS_FROM < MIN_SERVER_RANGE) return undefined;
  return { low: SERVER_PORTS_FROM, high: ephemeral.low - 1 };
}
