/** `ferry log`: the audit trail of exports, imports, acks, refusals and resolutions. */
import type { AuditEntry } from '../store/peer-directory.js';
import type { OpContext } from './context.js';
import { withSession } from './node-session.js';

export function auditLog(ctx: OpContext, o: { limit?: number } = {}): Promise<AuditEntry[]> {
  return withSession(ctx, undefined, 'log', (s) => s.directory().readAudit(o.limit ?? 1000));
}
