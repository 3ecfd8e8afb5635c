import type { Verdict } from '../core/verdict.js';
import type { Output } from './output.js';

/**
 * The closing lines of a drive operation, from its verdict alone, as the TUI shows them on its
 * closing screen: the news, what is true, what to do next, and whether the drive may go. The
 * command's own lines above them list the items (bundles, acks) and say nothing of these.
 */
export function printVerdict(v: Verdict, out: Output): void {
  for (const notice of v.notices) out.line(notice);
  out.line(v.why);
  if (v.next) out.line(`next: ${v.next}`);
  out.line(v.safe_to_remove ? 'Safe to remove the drive.' : 'Do not remove the drive yet.');
}
