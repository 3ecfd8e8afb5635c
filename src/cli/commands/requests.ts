import { defineCommand } from '../command.js';
import { ErrorCodes, usageError } from '../../core/errors.js';
import { readConfig, REQUEST_POLICIES, type RequestPolicy } from '../../store/home.js';

export default defineCommand<{ action?: string; id?: string; reason?: string; all: boolean }>({
  command: 'requests [action] [id]',
  describe: "hub: facilities' record requests; `requests approve|deny N`, `requests policy auto|approve`. facility: the requests this facility made",
  builder: (y) =>
    y
      .positional('action', { choices: ['list', 'approve', 'deny', 'policy'] as const, describe: 'list (default), approve, deny, or policy' })
      .positional('id', { type: 'string', describe: 'the request number (approve, deny) or the policy: auto or approve' })
      .option('reason', { type: 'string', describe: 'why (kept in the audit log)' })
      .option('all', { type: 'boolean', default: false, describe: 'answered and denied ones too' }),
  async run(a, ctx, out) {
    if (readConfig(ctx.home).role === 'facility') {
      const { listOwnRequests } = await import('../../facility/request.js');
      const list = await listOwnRequests(ctx);
      if (list.length === 0) out.line('no requests made');
      for (const r of list) out.line(`${r.request_id.slice(0, 8)} ${r.table}.${r.column} = ${r.value}: ${r.answered_at ? `answered ${r.answered_at}` : 'waiting (every export carries it)'}${r.reason ? ` (${r.reason})` : ''}`);
      out.result({ requests: list });
      return;
    }
    const { decide, listRequests, setRequestPolicy } = await import('../../hub/requests.js');
    if (a.action === 'policy') {
      if (!REQUEST_POLICIES.includes(a.id as RequestPolicy)) throw usageError(ErrorCodes.USAGE, 'policy needs auto or approve', { hint: '`ferry requests policy approve` holds every request for an operator' });
      const p = await setRequestPolicy(ctx, a.id as RequestPolicy);
      out.line(`requests from now on: ${p === 'auto' ? 'answered at once for enrolled facilities' : 'held until an operator approves them'}`);
      out.result({ policy: p });
      return;
    }
    if (a.action === 'approve' || a.action === 'deny') {
      const id = Number(a.id);
      if (!Number.isSafeInteger(id) || id < 1) throw usageError(ErrorCodes.USAGE, `${a.action} needs a request number, not ${JSON.stringify(a.id ?? '')}`, { hint: 'list them with `ferry requests`' });
      const r = await decide(ctx, { id, approve: a.action === 'approve', ...(a.reason ? { reason: a.reason } : {}) });
      out.line(`request #${r.id} from ${r.facility}: ${r.status}${r.status === 'approved' ? ' (answered as soon as the hub holds the record)' : r.status === 'answered' ? `: send(s) ${r.sends.map((x) => `#${x}`).join(', ')}, on the next export` : ''}`);
      out.result({ request: r });
      return;
    }
    const { policy, requests } = await listRequests(ctx, { all: a.all });
    out.line(`policy: ${policy === 'auto' ? 'answer at once (auto)' : 'hold for an operator (approve)'}`);
    if (requests.length === 0) out.line(a.all ? 'no requests received' : 'no requests waiting');
    for (const r of requests) {
      out.line(`#${r.id} from ${r.facility}: ${r.table}.${r.column} = ${r.value}; ${r.status}${r.reason ? `; reason: ${r.reason}` : ''}; received ${r.received_at}${r.decision_reason ? `; ${r.decision_reason}` : ''}`);
    }
    out.result({ policy, requests });
  },
});
