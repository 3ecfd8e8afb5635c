/**
 * This node's own key rotations as a library (the command is rotate.ts): finishing one cut short
 * after its deciding commit, and putting the notices on a drive for the peers.
 */
import { join } from 'node:path';
import { writeBufferAtomically } from '../drive/atomic-write.js';
import { holdsExactly } from '../core/safe-file.js';
import { rotationFileName, type DriveLayout } from '../drive/layout.js';
import { HOME_FILES, replaceHomeFile } from '../store/home.js';
import type { NodeState } from '../store/node-state.js';

export type { OwnRotation } from '../store/node-state.js';

/** Complete a rotation whose deciding transaction committed but whose files were not all replaced. */
export function finishRotation(home: string, state: NodeState): void {
  const pending = state.pendingRotation();
  if (!pending) return;
  replaceHomeFile(home, HOME_FILES.secret, pending.secretKeyFile, 0o600);
  replaceHomeFile(home, HOME_FILES.card, pending.card, 0o644);
  state.rotationFilesWritten(pending.id);
}

/**
 * Put every rotation notice of this node on the drive (a few hundred bytes each), so that any
 * peer the drive reaches learns the current key. A notice already there is not written again.
 */
export async function writeOwnRotations(state: NodeState, nodeId: string, layout: DriveLayout): Promise<string[]> {
  const out: string[] = [];
  for (const r of state.ownRotations()) {
    const name = rotationFileName(nodeId, r.oldFingerprint, r.newFingerprint);
    const path = join(layout.keys, name);
    // Compared without following a link or reading a FIFO; anything else there is replaced by rename.
    if (await holdsExactly(path, r.bytes)) continue;
    out.push(await writeBufferAtomically(layout.keys, name, r.bytes));
  }
  return out;
}
