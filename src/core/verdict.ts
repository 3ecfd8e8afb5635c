/**
 * What an operation on a drive came to, decided once by the operation side and only rendered by
 * the faces: the CLI maps it to an exit code and lines, the TUI to its closing screen. Before it,
 * each face judged the result itself and they disagreed (a refused key notice; an ack not written).
 */

/**
 * ok: everything asked was done; partial: some items were refused or failed while the rest went
 * on; failed: the operation stopped and changed nothing.
 */
export type Outcome = 'ok' | 'partial' | 'failed';

export interface Verdict {
  outcome: Outcome;
  /**
   * The person may take the drive away now: nothing this operation was to write on it is missing,
   * and nothing is left to do with it first (an ack to write again, changes still to export).
   */
  safe_to_remove: boolean;
  /** what is true, in one line */
  why: string;
  /** what to do next, when there is something to do */
  next?: string;
  /** news the person must hear even when all went well: a peer's new key, a restored EMR, a notice not written */
  notices: string[];
}
