/**
 * The /24 a site lives in: validation, the two addresses on its veth pair, interface names,
 * and the overlap check against the host's routes.
 */
import { InvalidSiteConfigError } from './errors';

/** Sites without an explicit subnet get 10.213.<index>.0/24. */
export const SITE_POOL_PREFIX = '10.213';
export const SITE_POOL = `${SITE_POOL_PREFIX}.0.0/16`;
export const MIN_INDEX = 1;
export const MAX_INDEX = 254;

export interface SiteSubnet {
  /** e.g. '10.213.7.0/24' */
  readonly cidr: string;
  /** The host end of the veth pair, .1 */
  readonly hostAddress: string;
  /** The site end, .2 */
  readonly siteAddress: string;
  /** Host end of the veth pair, e.g. 'kg10-213-7h' (at most 15 characters, the kernel's limit). */
  readonly hostInterface: string;
  /** Site end, inside the namespace, e.g. 'kg10-213-7s'. */
  readonly siteInterface: string;
}

/** The four octets of a dotted IPv4 literal, or undefined if it is not one. */
export function parseIPv4(text: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1).map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  // No leading zeros: iptables and ip would read them differently from a person.
  if (m.slice(1).some((o) => o.length > 1 && o.startsWith('0'))) return undefined;
  return octets;
}

function toNumber(octets: readonly number[]): number {
  return ((octets[0]! << 24) >>> 0) + (octets[1]! << 16) + (octets[2]! << 8) + octets[3]!;
}

/** [first, last] address of a CIDR ('a.b.c.d/n', or a bare address meaning /32). */
export function cidrRange(cidr: string): [number, number] | undefined {
  const [addr, lenText] = cidr.split('/');
  const octets = parseIPv4(addr ?? '');
  if (!octets) return undefined;
  const len = lenText === undefined ? 32 : Number(lenText);
  if (!Number.isInteger(len) || len < 0 || len > 32) return undefined;
  const size = 2 ** (32 - len);
  const first = Math.floor(toNumber(octets) / size) * size;
  return [first, first + size - 1];
}

export function rangesOverlap(a: readonly [number, number], b: readonly [number, number]): boolean {
  return a[0] <= b[1] && b[0] <= a[1];
}

/** RFC 1918: the only space a site may use, so it can never shadow a public address. */
function isPrivate(octets: readonly number[]): boolean {
  const [a, b] = octets as [number, number];
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

function fromOctets(a: number, b: number, c: number): SiteSubnet {
  const stem = `kg${a}-${b}-${c}`;
  return {
    cidr: `${a}.${b}.${c}.0/24`,
    hostAddress: `${a}.${b}.${c}.1`,
    siteAddress: `${a}.${b}.${c}.2`,
    hostInterface: `${stem}h`,
    siteInterface: `${stem}s`,
  };
}

/** 10.213.<index>.0/24 */
export function subnetForIndex(index: number): SiteSubnet {
  if (!Number.isInteger(index) || index < MIN_INDEX || index > MAX_INDEX) {
    throw new InvalidSiteConfigError('index', `${index} is not an integer from ${MIN_INDEX} to ${MAX_INDEX}`);
  }
  const [a, b] = SITE_POOL_PREFIX.split('.').map(Number) as [number, number];
  return fromOctets(a, b, index);
}

/** A caller-chosen subnet: must be a private /24 given by its network address. */
export function subnetFromCidr(cidr: string): SiteSubnet {
  const m = /^([\d.]+)\/24$/.exec(cidr);
  const octets = m ? parseIPv4(m[1]!) : undefined;
  if (!octets) throw new InvalidSiteConfigError('subnet', `'${cidr}' is not an IPv4 /24 such as 10.213.7.0/24`);
  if (octets[3] !== 0) throw new InvalidSiteConfigError('subnet', `'${cidr}' is not a network address (the last octet must be 0)`);
  if (!isPrivate(octets)) throw new InvalidSiteConfigError('subnet', `'${cidr}' is not in a private range (10/8, 172.16/12, 192.168/16)`);
  return fromOctets(octets[0]!, octets[1]!, octets[2]!);
}

/** One entry of `ip -j -4 route show table all`. */
export interface RouteEntry {
  readonly dst: string;
  readonly dev?: string;
  readonly type?: string;
  readonly table?: string;
}

/**
 * The host routes (in any table, including local and broadcast entries) that overlap `cidr`,
 * described for an error message. Default routes do not count: every address "overlaps" them,
 * and a site's own route is more specific, so it never steals their traffic.
 */
export function overlappingRoutes(cidr: string, routes: readonly RouteEntry[]): string[] {
  const mine = cidrRange(cidr)!;
  const hits: string[] = [];
  for (const route of routes) {
    if (route.dst === 'default') continue;
    const range = cidrRange(route.dst);
    if (!range || !rangesOverlap(mine, range)) continue;
    const where = [route.type && route.type !== 'unicast' ? route.type : '', `route ${route.dst}`, route.dev ? `dev ${route.dev}` : '', route.table ? `table ${route.table}` : '']
      .filter(Boolean)
      .join(' ');
    hits.push(where);
  }
  return hits;
}
