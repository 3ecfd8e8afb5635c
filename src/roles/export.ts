/** `ferry export --to DIR`, with its verdict: what the CLI and the TUI both call, at a facility or at a hub. */
import type { OpContext } from '../node/context.js';
import type { Verdict } from '../core/verdict.js';
import { exportChanges, type ExportOptions, type ExportResult } from '../facility/export.js';
import { exportToFacilities, type HubExportResult } from '../hub/export-to-facilities.js';
import { readConfig } from '../store/home.js';
import { exportVerdict, hubExportVerdict } from './verdict.js';

export type ExportDriveResult = (ExportResult & { verdict: Verdict }) | (HubExportResult & { verdict: Verdict });

/** A hub's export: what it writes for the facilities (records sent back out). */
export const isHubExport = (r: ExportDriveResult): r is HubExportResult & { verdict: Verdict } => 'facilities' in r;

export async function exportDrive(ctx: OpContext, o: ExportOptions & { for?: string[] }): Promise<ExportDriveResult> {
  if (readConfig(ctx.home).role === 'hub') {
    const r = await exportToFacilities(ctx, { to: o.to, ...(o.for?.length ? { for: o.for } : {}), ...(o.maxBundleBytes !== undefined ? { maxBundleBytes: o.maxBundleBytes } : {}) });
    return { ...r, verdict: hubExportVerdict(r) };
  }
  const r = await exportChanges(ctx, o);
  return { ...r, verdict: exportVerdict(r) };
}
