/**
 * The audit chain's one state row (table audit_chain) as both audit log implementations read
 * it: the head (last appended) and the anchor (last removed by retention).
 */
import type { ChainState } from '../audit/stored-chain-verifier';
import { num, type Row } from '../store/record-rows';
import { StoreError } from '../store/store';

export const CHAIN_STATE_SQL = 'SELECT head_seq, head_hash, anchor_seq, anchor_hash FROM audit_chain WHERE id = 1';

/** Every migrated database has the row; without it the database was altered. */
export class AuditChainStateError extends StoreError {
  constructor(location: string) {
    super('ERR_AUDIT_CHAIN_STATE', `the audit chain's state (table audit_chain) is missing from ${location}: the database was altered outside kubegate`);
  }
}

export function chainStateFromRow(row: Row | undefined, location: string): ChainState {
  if (!row) throw new AuditChainStateError(location);
  return { head: { seq: num(row.head_seq), hash: String(row.head_hash) }, anchor: { seq: num(row.anchor_seq), hash: String(row.anchor_hash) } };
}
