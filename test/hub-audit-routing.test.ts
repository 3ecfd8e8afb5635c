/**
 * At a hub, the trust store, revocations and audit log are the hub store's (a PostgreSQL hub
 * keeps them in its own database, issue 15): every audit write and read and every peer read and
 * write goes through the store a session opens, never around it to the state database. A
 * wrapper around that store records what reaches it.
 */
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { exportChanges } from '../src/facility/export.js';
import type { OpContext } from '../src/node/context.js';
import { auditLog } from '../src/node/log.js';
import { fixedPassphrase } from '../src/node/passphrase.js';
import { changePassphrase } from '../src/node/passphrase-change.js';
import { rotateKeys } from '../src/node/rotate.js';
import { revoke, trustPeer } from '../src/node/trust.js';
import { importDrive } from '../src/roles/import.js';
import { status } from '../src/roles/status.js';
import type { HubStore } from '../src/store/hub-store.js';
import { makeNetwork, TEST_PASSPHRASE } from './helpers/env.js';

const PEER_CALLS = new Set(['peer', 'peers', 'retiredKeys', 'putPeer', 'revokePeer', 'rotatePeer', 'audit', 'readAudit']);

/** A hub context whose sessions' stores record every peer and audit call made on them. */
function recording(hub: OpContext) {
  const calls: string[] = [];
  const wrap = (store: HubStore): HubStore =>
    new Proxy(store, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== 'function' || !PEER_CALLS.has(String(prop))) return value;
        return (...args: unknown[]) => {
          calls.push(prop === 'audit' ? `audit:${(args[0] as { action: string }).action}` : String(prop));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  return { ctx: { ...hub, wrapHubStore: wrap, passphrase: fixedPassphrase(TEST_PASSPHRASE) } as OpContext, calls };
}

test("at a hub, import, trust, revoke, rotate-keys, passphrase and stale-lock clearing audit through the hub store, and the log is read from it", async (t) => {
  const n = await makeNetwork(t, { trackAll: true, facilities: ['RW-001', 'RW-002'] });
  const { ctx, calls } = recording(n.hub);
  await exportChanges(n.sites[0]!.ctx, { to: n.drive });
  await importDrive(ctx, { from: n.drive });
  await revoke(ctx, { id: 'RW-002', reason: 'laptop stolen' });
  await trustPeer(ctx, { card: n.sites[1]!.card, reinstate: true });
  await rotateKeys(ctx);
  await changePassphrase(ctx);
  // A lock left by a process that is gone: cleared, and the clearing audited.
  writeFileSync(join(n.hub.home, 'lock'), JSON.stringify({ pid: 2 ** 22 + 1, host: hostname(), since: new Date(0).toISOString(), command: 'import' }));
  await importDrive(ctx, { from: n.drive });
  const audited = new Set(calls.filter((c) => c.startsWith('audit:')).map((c) => c.slice('audit:'.length)));
  for (const action of ['import', 'revoke', 'reinstate', 'rotate-keys', 'passphrase', 'lock']) t.true(audited.has(action), `${action} was audited through the hub store: ${[...audited].join(', ')}`);
  calls.length = 0;
  const log = await auditLog(ctx);
  t.deepEqual(calls, ['readAudit'], '`ferry log` reads the hub store');
  // Everything the log holds after init arrived through the store: nothing was written around it.
  t.deepEqual(new Set(log.map((e) => e.action).filter((a) => a !== 'init' && a !== 'trust')), audited);
  calls.length = 0;
  await status(ctx);
  t.true(calls.includes('peers'), 'status lists the facilities from the hub store');
});
