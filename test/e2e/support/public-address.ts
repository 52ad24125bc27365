/** The hub's public address, now the fleet lab's (dev/fleet/public-address.ts), where the deployment tests have always found it. */
export * from '../../../dev/fleet/public-address';
