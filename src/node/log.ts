/** `ferry log`: the audit trail of exports, imports, acks, refusals and resolutions. */
import { readAudit, type AuditEntry } from '../store/state-db.js';
import type { OpContext } from './context.js';
import { withSession } from './node-session.js';

export function auditLog(ctx: OpContext, o: { limit?: number } = {}): Promise<AuditEntry[]> {
  return withSession(ctx, undefined, 'log', (s) => readAudit(s.state, o.limit ?? 1000));
}
