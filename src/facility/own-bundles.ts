/** This node's own bundles on a drive: made by it, for the given hub, with a valid signature. */
import { openBundle, signatureValid, type OpenedBundle } from '../format/bundle-reader.js';
import { driveFileFailure } from '../node/item-failure.js';
import type { NodeSession } from '../node/node-session.js';

export async function* ownBundlesOnDrive(s: NodeSession, files: string[], hubId: string): AsyncGenerator<OpenedBundle> {
  const own = s.identity();
  for (const file of files) {
    let b: OpenedBundle;
    try {
      b = await openBundle(file);
    } catch (err) {
      driveFileFailure(err, file);
      continue; // damaged, unreadable or foreign: not ours to count on, nor to delete
    }
    const m = b.manifest;
    if (m.sender === own.id && m.recipient === hubId && signatureValid(b, own.signingKey)) yield b;
  }
}
