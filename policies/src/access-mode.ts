import { oneOf } from './decoders';

/**
 * How subjects may reach a cluster:
 * - `kubectl`: kubectl, helm and scripts through the edge, and the web console;
 * - `console-only`: the web console only; kubectl requests are refused;
 * - `disabled`: nothing. Written on an AccessPolicy it denies its subjects on its clusters
 *   whatever any other policy allows, break-glass included.
 */
export const ACCESS_MODES = ['kubectl', 'console-only', 'disabled'] as const;
export type AccessMode = (typeof ACCESS_MODES)[number];

export const accessMode = oneOf(ACCESS_MODES, { noun: 'access mode' });
