/**
 * A bundle just written to a drive, read back and verified as its reader will (container,
 * manifest, signature, payload hash), except decryption: a drive that lies about its size or
 * fails is found before the bundle is reported written. Shared by the facility's export and the
 * hub's export to facilities.
 */
import { rmSync } from 'node:fs';
import { checkPayloadHash, openBundle, verifyBundle } from '../format/bundle-reader.js';
import { ErrorCodes, ioError } from '../core/errors.js';

export const DEFAULT_MAX_BUNDLE_BYTES = 256 * 1024 * 1024;
export const MIN_MAX_BUNDLE_BYTES = 64 * 1024;

/** Read the bundle back from the drive and verify it as the hub will, except decryption. */
export async function readBack(path: string, signer: { signingKey: Uint8Array; fingerprint: string }, self: string): Promise<void> {
  try {
    const b = await openBundle(path);
    verifyBundle(b, { signingKey: signer.signingKey, fingerprint: signer.fingerprint }, undefined);
    if (b.manifest.sender !== self) throw new Error('sender changed');
    await checkPayloadHash(b);
  } catch (err) {
    rmSync(path, { force: true });
    throw ioError(ErrorCodes.READBACK_FAILED, `the bundle written to ${path} did not read back intact, so it was removed`, {
      where: path,
      cause: err,
      hint: 'the drive may be failing or fake (lying about its size); try another drive',
    });
  }
}
