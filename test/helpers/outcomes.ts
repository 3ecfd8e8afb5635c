/** What the TUI's services hand the run screen, made from bare results with their real verdicts. */
import type { FerryError } from '../../src/core/errors.js';
import type { ExportResult } from '../../src/facility/export.js';
import type { FacilityImportResult } from '../../src/facility/read-acks.js';
import type { HubImportResult } from '../../src/hub/import-bundles.js';
import { exportVerdict, facilityImportVerdict, hubImportVerdict, stoppedVerdict } from '../../src/roles/verdict.js';
import type { OperationResult } from '../../src/tui/services.js';

export const exported = (result: ExportResult): OperationResult => ({ ok: true, op: 'export', result: { ...result, verdict: exportVerdict(result) } });

export const imported = (result: HubImportResult | FacilityImportResult): OperationResult => ({
  ok: true,
  op: 'import',
  result: result.role === 'hub' ? { ...result, verdict: hubImportVerdict(result) } : { ...result, verdict: facilityImportVerdict(result) },
});

export const stopped = (op: 'export' | 'import', error: ReturnType<FerryError['toJSON']>): OperationResult => ({ ok: false, error, verdict: stoppedVerdict(op, error) });
