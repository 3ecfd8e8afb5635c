/** What every operation receives: where the node lives, and injectable time, randomness and progress. */
import { defaultRandom, type RandomBytes } from '../keys/identity.js';

export interface ProgressEvent {
  /** which phase: 'export', 'import', 'verify', 'apply' … */
  phase: string;
  /** what is being worked on, e.g. a bundle file name */
  item?: string;
  changesDone?: number;
  changesTotal?: number;
  bytesDone?: number;
  bytesTotal?: number;
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
}

export function makeContext(home: string, overrides: Partial<Omit<OpContext, 'home'>> = {}): OpContext {
  return { home, now: () => new Date(), random: defaultRandom, progress: noProgress, ...overrides };
}
