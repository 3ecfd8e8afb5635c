/**
 * `ferry inspect PATH`: what is on a drive (or in one file), for whom, and whether it is intact
 * and signed by a node this home trusts. Uses no secret key and decrypts nothing.
 */
import { existsSync, lstatSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ACK_EXTENSION, BUNDLE_EXTENSION, RECEIPT_EXTENSION, RECEIPT_FORMAT, REQUEST_EXTENSION, ROTATION_EXTENSION } from '../format/constants.js';
import { openRequest, requestSignatureValid } from '../format/request.js';
import { fromB64 } from '../format/encoding.js';
import { openRotation, verifyRotation } from '../format/rotation.js';
import { ackSignatureValid, openAck } from '../format/ack.js';
import { checkPayloadHash, openBundle, signatureValid } from '../format/bundle-reader.js';
import { ErrorCodes, FerryError, usageError } from '../core/errors.js';
import { driveFileFailure } from '../node/item-failure.js';
import { checkDrive, driveLayout, listDrive } from '../drive/layout.js';
import { HOME_FILES, readConfig, readOwnCard } from '../store/home.js';
import type { PeerDirectory } from '../store/peer-directory.js';
import type { OpContext } from '../node/context.js';
import { NodeSession } from '../node/node-session.js';

export type SignatureStatus = 'trusted' | 'own' | 'unknown-signer' | 'revoked' | 'invalid' | 'unchecked';

export interface InspectItem {
  file: string;
  /** receipt: a facility's, for a hub's bundle; request: a facility's record request (what it asks for is sealed: not shown) */
  kind: 'bundle' | 'ack' | 'key-rotation' | 'receipt' | 'request';
  ok: boolean;
  bytes: number;
  sender?: string;
  recipient?: string;
  bundle_id?: string;
  seq?: { first: number; last: number };
  changes?: number;
  tables?: Record<string, number>;
  created?: string;
  intact?: boolean;
  signature: SignatureStatus;
  signer_fingerprint?: string;
  /** key-rotation: the key it announces (signer_fingerprint is the key it replaces) */
  new_fingerprint?: string;
  counts?: Record<string, number>;
  error?: ReturnType<FerryError['toJSON']>;
}

export interface InspectResult {
  path: string;
  checked_by?: string;
  /** why this home's trusted peers could not be read: signatures of others are shown unchecked */
  unchecked_because?: ReturnType<FerryError['toJSON']>;
  items: InspectItem[];
  partial: string[];
}

interface Verifier {
  self?: { id: string; signingKey: Uint8Array; fingerprint: string };
  /** the home's trusted peers, as its session reaches them (a hub's through its hub store, opened only if a signer is to be checked) */
  peers?: () => PeerDirectory;
}

async function signerStatus(v: Verifier, id: string, check: (key: Uint8Array, fingerprint: string) => boolean): Promise<SignatureStatus> {
  if (v.self && v.self.id === id) return check(v.self.signingKey, v.self.fingerprint) ? 'own' : 'invalid';
  if (!v.peers) return 'unchecked';
  const peer = await v.peers().peer(id);
  if (!peer) return 'unknown-signer';
  if (!check(peer.signingKey, peer.fingerprint)) return 'invalid';
  return peer.revoked ? 'revoked' : 'trusted';
}

async function inspectBundle(path: string, v: Verifier): Promise<InspectItem> {
  const item: InspectItem = { file: path, kind: 'bundle', ok: false, bytes: lstatSync(path).size, signature: 'unchecked' };
  try {
    const b = await openBundle(path);
    const m = b.manifest;
    Object.assign(item, { sender: m.sender, recipient: m.recipient, bundle_id: m.bundle_id, seq: m.seq, changes: m.changes, tables: m.tables, created: m.created, signer_fingerprint: m.sender_fingerprint });
    // A manifest that misnames its signing key is refused at import, so it is not shown as trusted either.
    item.signature = await signerStatus(v, m.sender, (k, fingerprint) => signatureValid(b, k) && m.sender_fingerprint === fingerprint);
    try {
      await checkPayloadHash(b);
      item.intact = true;
    } catch (err) {
      item.intact = false;
      item.error = driveFileFailure(err, path).toJSON();
    }
  } catch (err) {
    item.intact = false;
    item.error = driveFileFailure(err, path).toJSON();
  }
  item.ok = item.intact === true && (item.signature === 'trusted' || item.signature === 'own' || item.signature === 'unchecked');
  return item;
}

/**
 * A rotation notice is 'trusted' when both its signatures hold and the key it replaces is, or
 * was, the key this home trusts for that node (it may have been applied already).
 */
async function inspectRotation(path: string, v: Verifier): Promise<InspectItem> {
  const item: InspectItem = { file: path, kind: 'key-rotation', ok: false, bytes: lstatSync(path).size, signature: 'unchecked' };
  try {
    const r = await openRotation(path);
    const n = r.notice;
    Object.assign(item, { sender: n.id, created: n.created, signer_fingerprint: n.old.fingerprint, new_fingerprint: n.new.fingerprint, intact: true });
    const oldKey = fromB64(n.old.signing_key, 32)!;
    try {
      verifyRotation(r, oldKey);
    } catch (err) {
      item.signature = 'invalid';
      item.error = driveFileFailure(err, path).toJSON();
    }
    if (item.signature !== 'invalid') {
      const known = (fingerprint: string) => fingerprint === n.old.fingerprint || fingerprint === n.new.fingerprint;
      if (v.self && v.self.id === n.id) item.signature = known(v.self.fingerprint) ? 'own' : 'invalid';
      else if (v.peers) {
        const peer = await v.peers().peer(n.id);
        const wasTrusted = peer && (known(peer.fingerprint) || (await v.peers().retiredKeys(n.id)).some((k) => known(k.fingerprint)));
        item.signature = !wasTrusted ? 'unknown-signer' : peer.revoked ? 'revoked' : 'trusted';
      }
    }
  } catch (err) {
    item.intact = false;
    item.error = driveFileFailure(err, path).toJSON();
  }
  item.ok = item.intact === true && (item.signature === 'trusted' || item.signature === 'own' || item.signature === 'unchecked');
  return item;
}

async function inspectAck(path: string, v: Verifier): Promise<InspectItem> {
  const item: InspectItem = { file: path, kind: 'ack', ok: false, bytes: lstatSync(path).size, signature: 'unchecked' };
  try {
    const a = await openAck(path);
    const k = a.ack;
    Object.assign(item, { sender: k.hub, recipient: k.facility, bundle_id: k.bundle_id, seq: k.seq, created: k.created, counts: k.counts, signer_fingerprint: k.hub_fingerprint, intact: true });
    item.changes = k.counts.applied + k.counts.already_present + k.counts.conflicts + k.counts.rejected;
    item.signature = await signerStatus(v, k.hub, (key) => ackSignatureValid(a, key));
  } catch (err) {
    item.intact = false;
    item.error = driveFileFailure(err, path).toJSON();
  }
  item.ok = item.intact === true && (item.signature === 'trusted' || item.signature === 'own' || item.signature === 'unchecked');
  return item;
}

/** A facility's receipt for a hub's bundle: an ack document the facility signed. */
async function inspectReceipt(path: string, v: Verifier): Promise<InspectItem> {
  const item: InspectItem = { file: path, kind: 'receipt', ok: false, bytes: lstatSync(path).size, signature: 'unchecked' };
  try {
    const a = await openAck(path, RECEIPT_FORMAT);
    const k = a.ack;
    Object.assign(item, { sender: k.facility, recipient: k.hub, bundle_id: k.bundle_id, seq: k.seq, created: k.created, counts: k.counts, intact: true });
    item.changes = k.counts.applied + k.counts.already_present;
    item.signature = await signerStatus(v, k.facility, (key) => ackSignatureValid(a, key));
  } catch (err) {
    item.intact = false;
    item.error = driveFileFailure(err, path).toJSON();
  }
  item.ok = item.intact === true && (item.signature === 'trusted' || item.signature === 'own' || item.signature === 'unchecked');
  return item;
}

/** A facility's record request: who asks whom, when; what it asks for is sealed to the hub and not shown. */
async function inspectRequest(path: string, v: Verifier): Promise<InspectItem> {
  const item: InspectItem = { file: path, kind: 'request', ok: false, bytes: lstatSync(path).size, signature: 'unchecked' };
  try {
    const r = await openRequest(path);
    const q = r.request;
    Object.assign(item, { sender: q.facility, recipient: q.hub, created: q.created, signer_fingerprint: q.facility_fingerprint, intact: true });
    item.signature = await signerStatus(v, q.facility, (key, fingerprint) => requestSignatureValid(r, key) && q.facility_fingerprint === fingerprint);
  } catch (err) {
    item.intact = false;
    item.error = driveFileFailure(err, path).toJSON();
  }
  item.ok = item.intact === true && (item.signature === 'trusted' || item.signature === 'own' || item.signature === 'unchecked');
  return item;
}

export async function inspect(ctx: OpContext, o: { path: string }): Promise<InspectResult> {
  let st;
  try {
    st = statSync(o.path);
  } catch {
    throw usageError(ErrorCodes.DRIVE_MISSING, `${o.path} does not exist`, { where: o.path, hint: 'give a drive folder, a .ferry-bundle, a .ferry-ack or a .ferry-rotation file' });
  }
  const v: Verifier = {};
  let checkedBy: string | undefined;
  // Only read: inspect needs no key and changes nothing in the home, not even a migration.
  let session: NodeSession | undefined;
  let uncheckedBecause: FerryError | undefined;
  if (existsSync(join(ctx.home, HOME_FILES.config))) {
    try {
      session = NodeSession.openForReading(ctx, undefined, 'inspect');
    } catch (err) {
      // A state.db an upgrade has not migrated yet, or one that cannot be opened now: the courier
      // still sees what is on the drive, with others' signatures unchecked and the reason said.
      // A lost one is not passed over: the node folder needs restoring before anything else.
      if (!(err instanceof FerryError) || (err.kind === 'usage' && err.code !== ErrorCodes.DB_OUTDATED)) throw err;
      uncheckedBecause = err;
    }
    checkedBy = readConfig(ctx.home).id;
    if (session) {
      const s = session;
      v.peers = () => s.directory();
    }
    try {
      const card = session ? session.identity() : readOwnCard(ctx.home, readConfig(ctx.home));
      v.self = { id: card.id, signingKey: card.signingKey, fingerprint: card.fingerprint };
    } catch (err) {
      if (!(err instanceof FerryError)) throw err; // an unreadable card: trust checks still work
    }
  }
  try {
    const items: InspectItem[] = [];
    let partial: string[] = [];
    if (st.isDirectory()) {
      const layout = driveLayout(o.path);
      checkDrive(layout); // drive-unsafe: a FERRY folder that is a link is not looked into
      const files = listDrive(layout);
      partial = files.partial;
      for (const f of files.bundles) items.push(await inspectBundle(f, v));
      for (const f of files.acks) items.push(await inspectAck(f, v));
      for (const f of files.rotations) items.push(await inspectRotation(f, v));
      for (const f of files.receipts) items.push(await inspectReceipt(f, v));
      for (const f of files.requests) items.push(await inspectRequest(f, v));
    } else if (o.path.toLowerCase().endsWith(RECEIPT_EXTENSION)) {
      items.push(await inspectReceipt(o.path, v));
    } else if (o.path.toLowerCase().endsWith(REQUEST_EXTENSION)) {
      items.push(await inspectRequest(o.path, v));
    } else if (o.path.toLowerCase().endsWith(ROTATION_EXTENSION)) {
      items.push(await inspectRotation(o.path, v));
    } else if (o.path.toLowerCase().endsWith(ACK_EXTENSION)) {
      items.push(await inspectAck(o.path, v));
    } else if (o.path.toLowerCase().endsWith(BUNDLE_EXTENSION)) {
      items.push(await inspectBundle(o.path, v));
    } else {
      // Unknown name: try as a bundle, then as an ack.
      const asBundle = await inspectBundle(o.path, v);
      items.push(asBundle.error?.code === ErrorCodes.ZIP_ENTRY_UNEXPECTED || asBundle.error?.code === ErrorCodes.ZIP_ENTRY_MISSING ? await inspectAck(o.path, v) : asBundle);
    }
    return { path: o.path, ...(checkedBy ? { checked_by: checkedBy } : {}), ...(uncheckedBecause ? { unchecked_because: uncheckedBecause.toJSON() } : {}), items, partial };
  } finally {
    await session?.close();
  }
}
