/** `ferry export --to DIR`, with its verdict: what the CLI and the TUI both call. */
import type { OpContext } from '../node/context.js';
import type { Verdict } from '../core/verdict.js';
import { exportChanges, type ExportOptions, type ExportResult } from '../facility/export.js';
import { exportVerdict } from './verdict.js';

export type ExportDriveResult = ExportResult & { verdict: Verdict };

export async function exportDrive(ctx: OpContext, o: ExportOptions): Promise<ExportDriveResult> {
  const r = await exportChanges(ctx, o);
  return { ...r, verdict: exportVerdict(r) };
}
