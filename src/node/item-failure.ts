/**
 * Commands that go through a drive item by item (bundles, acks, rotation notices) report a bad
 * item and go on with the next. Only a refusal (the item is bad) or an I/O failure (the drive
 * failed under it) is such a report; anything else is a bug in ferry, which must stop the
 * command (exit 70) instead of being blamed on the item, quarantining a good bundle.
 */
import { asFerryError, type FerryError } from '../core/errors.js';

/** The error as a FerryError if it is an item's refusal or I/O failure; rethrows everything else. */
export function itemFailure(err: unknown): FerryError {
  const e = asFerryError(err);
  if (e.kind === 'refused' || e.kind === 'io') return e;
  throw e;
}
