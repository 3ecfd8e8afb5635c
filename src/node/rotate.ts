/**
 * `ferry rotate-keys`: a node makes new keys and a rotation notice signed with the old key and
 * the new one. The notice then travels on every drive the node writes to (export at a facility,
 * import at a hub), and each peer accepts it from the drive (peer-rotations.ts).
 *
 * Crash safety: one state-database transaction decides the rotation and holds the new sealed key
 * and card; the files are replaced after it, and any session that finds the transaction done
 * but the files old finishes the job (finishRotation). Before that commit nothing has changed.
 */
import { join } from 'node:path';
import { writeBufferAtomically } from '../drive/atomic-write.js';
import { holdsExactly } from '../core/safe-file.js';
import { driveLayout, openDrive, rotationFileName, type DriveLayout } from '../drive/layout.js';
import { encodeRotation, makeRotationNotice, rotationKeys } from '../format/rotation.js';
import { generateKeys, nodeKeysFrom, toCard } from '../format/identity.js';
import { sealSecretKeys } from '../keys/sealed-secret.js';
import { HOME_FILES, replaceHomeFile, secretKeyFileText } from '../store/home.js';
import type { Db } from '../store/state-db.js';
import type { OpContext } from './context.js';
import { withLockedSession, type NodeSession } from './node-session.js';
import { rememberingUnlock } from './passphrase.js';
import { sealWithNewPassphrase } from './unlock.js';

export interface RotateResult {
  id: string;
  old_fingerprint: string;
  new_fingerprint: string;
  /** the notice written to --drive, if one was given */
  written?: string;
}

interface PendingRotation {
  id: number;
  pending_secret: string | null;
  pending_card: string | null;
}

/** Complete a rotation whose deciding transaction committed but whose files were not all replaced. */
export function finishRotation(home: string, state: Db): void {
  const row = state.prepare('SELECT id, pending_secret, pending_card FROM ferry_own_rotations WHERE pending_secret IS NOT NULL ORDER BY id').get() as PendingRotation | undefined;
  if (!row) return;
  replaceHomeFile(home, HOME_FILES.secret, row.pending_secret!, 0o600);
  replaceHomeFile(home, HOME_FILES.card, row.pending_card!, 0o644);
  state.prepare('UPDATE ferry_own_rotations SET pending_secret = NULL, pending_card = NULL WHERE id = ?').run(row.id);
}

export function rotateKeys(ctx: OpContext, o: { drive?: string } = {}): Promise<RotateResult> {
  // The new keys are sealed with the passphrase that opened the old ones.
  const remembered = rememberingUnlock(ctx.passphrase);
  const c: OpContext = { ...ctx, passphrase: remembered.source };
  return withLockedSession(c, undefined, 'rotate-keys', async (s) => {
    // An unsafe drive (drive-unsafe) is refused before the keys change, not after.
    if (o.drive) openDrive(o.drive);
    const old = await s.nodeKeys();
    const passphrase = remembered.unlockedWith();
    const secret = generateKeys(c.random);
    const created = c.now();
    const next = nodeKeysFrom(secret, { id: s.id, name: s.config.name, role: s.config.role, created: created.toISOString() });
    // A plain (version 1) key file opened without a passphrase: the new keys get one.
    const sealed = passphrase === undefined ? await sealWithNewPassphrase(c, 'create', s.id, secret) : await sealSecretKeys(s.id, secret, passphrase, { logN: c.kdfLogN, random: c.random });
    const notice = makeRotationNotice({ id: s.id, role: s.config.role, old: rotationKeys(old.identity), new: rotationKeys(next.identity), created });
    const bytes = await encodeRotation(notice, old.signingSecretKey, next.signingSecretKey);
    s.state
      .prepare('INSERT INTO ferry_own_rotations (created, old_fingerprint, new_fingerprint, old_signing_key, notice, pending_secret, pending_card) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(notice.created, old.identity.fingerprint, next.identity.fingerprint, Buffer.from(old.identity.signingKey), bytes, secretKeyFileText(s.id, sealed), `${JSON.stringify(toCard(next.identity), null, 2)}\n`);
    finishRotation(c.home, s.state);
    s.audit({ action: 'rotate-keys', outcome: 'rotated', detail: { old_fingerprint: old.identity.fingerprint, new_fingerprint: next.identity.fingerprint } });
    const result: RotateResult = { id: s.id, old_fingerprint: old.identity.fingerprint, new_fingerprint: next.identity.fingerprint };
    if (o.drive) {
      const written = await writeOwnRotations(s, driveLayout(o.drive));
      result.written = written.find((f) => f.endsWith(rotationFileName(s.id, old.identity.fingerprint, next.identity.fingerprint)));
    }
    return result;
  });
}

export interface OwnRotation {
  oldFingerprint: string;
  newFingerprint: string;
  oldSigningKey: Uint8Array;
  /** the notice file's bytes */
  bytes: Buffer;
}

/** This node's own rotation notices, oldest first (peers apply them as a chain). */
export function ownRotations(state: Db): OwnRotation[] {
  const rows = state.prepare('SELECT old_fingerprint, new_fingerprint, old_signing_key, notice FROM ferry_own_rotations ORDER BY id').all() as Array<{
    old_fingerprint: string;
    new_fingerprint: string;
    old_signing_key: Buffer;
    notice: Buffer;
  }>;
  return rows.map((r) => ({ oldFingerprint: r.old_fingerprint, newFingerprint: r.new_fingerprint, oldSigningKey: new Uint8Array(r.old_signing_key), bytes: r.notice }));
}

/**
 * Put every rotation notice of this node on the drive (a few hundred bytes each), so that any
 * peer the drive reaches learns the current key. A notice already there is not written again.
 */
export async function writeOwnRotations(s: NodeSession, layout: DriveLayout): Promise<string[]> {
  const out: string[] = [];
  for (const r of ownRotations(s.state)) {
    const name = rotationFileName(s.id, r.oldFingerprint, r.newFingerprint);
    const path = join(layout.keys, name);
    // Compared without following a link or reading a FIFO; anything else there is replaced by rename.
    if (await holdsExactly(path, r.bytes)) continue;
    out.push(await writeBufferAtomically(layout.keys, name, r.bytes));
  }
  return out;
}
