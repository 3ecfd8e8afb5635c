import type { ErrorKind } from '../core/errors.js';
import type { Outcome } from '../core/verdict.js';

/**
 * The exit codes, for people and scripts (also in README.md and docs/OPERATIONS.md).
 * An exit code not in this table means failure.
 */
export const ExitCode = {
  /** everything asked was done */
  OK: 0,
  /** some items (bundles, acks, files) were refused or failed while the rest went on */
  PARTIAL: 1,
  /** usage or configuration error: bad flags, no node in the home, wrong role, missing database */
  USAGE: 2,
  /** the operation failed and changed nothing: refused input, drive full or read-only, I/O error */
  FAILED: 3,
  /** another ferry process holds this node's lock */
  BUSY: 4,
  /** a bug in ferry */
  INTERNAL: 70,
  /** interrupted (Ctrl-C, SIGTERM); state is consistent */
  CANCELLED: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export function exitCodeFor(kind: ErrorKind): ExitCodeValue {
  switch (kind) {
    case 'usage':
      return ExitCode.USAGE;
    case 'refused':
    case 'io':
      return ExitCode.FAILED;
    case 'busy':
      return ExitCode.BUSY;
    case 'cancelled':
      return ExitCode.CANCELLED;
    case 'bug':
      return ExitCode.INTERNAL;
  }
}

/** An operation's verdict, as scripts see it. */
export function exitCodeForOutcome(outcome: Outcome): ExitCodeValue {
  switch (outcome) {
    case 'ok':
      return ExitCode.OK;
    case 'partial':
      return ExitCode.PARTIAL;
    case 'failed':
      return ExitCode.FAILED;
  }
}
