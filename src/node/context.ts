/** What every operation receives: where the node lives, and injectable time, randomness and progress. */
import { ErrorCodes, FerryError } from '../core/errors.js';
import { defaultRandom, type RandomBytes } from '../format/identity.js';
import type { HubStore } from '../store/hub-store.js';
import { envPassphrase, kdfLogNFromEnv, type PassphraseSource } from './passphrase.js';

export interface ProgressEvent {
  /** which phase: 'export', 'import', 'verify', 'apply' … */
  phase: string;
  /** what is being worked on, e.g. a bundle file name */
  item?: string;
  changesDone?: number;
  changesTotal?: number;
  bytesDone?: number;
}

/** Progress flows out of the core through this; the CLI and TUI supply printers. */
export type ProgressReporter = (e: ProgressEvent) => void;
export const noProgress: ProgressReporter = () => undefined;

export interface OpContext {
  home: string;
  now: () => Date;
  random: RandomBytes;
  progress: ProgressReporter;
  /** how long a command that changes state waits for another ferry on the same node (default 0) */
  lockWaitMs?: number;
  /** aborting it cancels the operation at the next safe point (state stays consistent) */
  signal?: AbortSignal;
  /** where passphrases come from (default: FERRY_PASSPHRASE …; the CLI adds a terminal prompt) */
  passphrase: PassphraseSource;
  /** scrypt cost (log2 N) for key files written now (default 17, or FERRY_SCRYPT_LOG_N) */
  kdfLogN: number;
  /** tests only: wraps the hub store a session opens, to see which calls reach it */
  wrapHubStore?: (store: HubStore) => HubStore;
}

/** Throw a `cancelled` error if the operation was asked to stop. Call only at safe points. */
export function checkCancelled(ctx: Pick<OpContext, 'signal'>): void {
  if (ctx.signal?.aborted) {
    throw new FerryError(ErrorCodes.CANCELLED, 'cancelled', 'cancelled: stopped before finishing; nothing half-done was kept', {
      hint: 'run it again to finish',
    });
  }
}

export function makeContext(home: string, overrides: Partial<Omit<OpContext, 'home'>> = {}): OpContext {
  return {
    home,
    now: () => new Date(),
    random: defaultRandom,
    progress: noProgress,
    passphrase: overrides.passphrase ?? envPassphrase(),
    kdfLogN: overrides.kdfLogN ?? kdfLogNFromEnv(),
    ...overrides,
  };
}
