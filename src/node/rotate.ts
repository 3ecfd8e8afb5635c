/**
 * `ferry rotate-keys`: a node makes new keys and a rotation notice signed with the old key and
 * the new one. The notice then travels on every drive the node writes to (export at a facility,
 * import at a hub), and each peer accepts it from the drive (peer-rotations.ts).
 *
 * Crash safety: one state-database transaction decides the rotation and holds the new sealed key
 * and card; the files are replaced after it, and any session that finds the transaction done
 * but the files old finishes the job (finishRotation). Before that commit nothing has changed.
 */
import { driveLayout, openDrive, rotationFileName } from '../drive/layout.js';
import { encodeRotation, makeRotationNotice, rotationKeys } from '../format/rotation.js';
import { generateKeys, nodeKeysFrom, toCard } from '../format/identity.js';
import { sealSecretKeys } from '../keys/sealed-secret.js';
import { secretKeyFileText } from '../store/home.js';
import type { OpContext } from './context.js';
import { withLockedSession } from './node-session.js';
import { finishRotation, writeOwnRotations } from './own-rotations.js';
import { rememberingUnlock } from './passphrase.js';
import { sealWithNewPassphrase } from './unlock.js';

export interface RotateResult {
  id: string;
  old_fingerprint: string;
  new_fingerprint: string;
  /** the notice written to --drive, if one was given */
  written?: string;
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
    s.state.decideRotation({
      created: notice.created,
      oldFingerprint: old.identity.fingerprint,
      newFingerprint: next.identity.fingerprint,
      oldSigningKey: old.identity.signingKey,
      notice: bytes,
      secretKeyFile: secretKeyFileText(s.id, sealed),
      card: `${JSON.stringify(toCard(next.identity), null, 2)}\n`,
    });
    finishRotation(c.home, s.state);
    await s.audit({ action: 'rotate-keys', outcome: 'rotated', detail: { old_fingerprint: old.identity.fingerprint, new_fingerprint: next.identity.fingerprint } });
    const result: RotateResult = { id: s.id, old_fingerprint: old.identity.fingerprint, new_fingerprint: next.identity.fingerprint };
    if (o.drive) {
      const written = await writeOwnRotations(s.state, s.id, driveLayout(o.drive));
      result.written = written.find((f) => f.endsWith(rotationFileName(s.id, old.identity.fingerprint, next.identity.fingerprint)));
    }
    return result;
  });
}
