/**
 * Builds a facility's EMR database (SQLite) from the Synthea sample in fixtures/synthea, the way
 * a small EMR would hold it: UUID keys, declared types, empty CSV fields stored as NULL; and the
 * edits the demo makes to it in round 2. The demo's other files reach the EMR only through these.
 */
import Database from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../core/package-root.js';

export interface SyntheaTable {
  name: string;
  /** column -> declared SQLite type; columns not listed are TEXT */
  types: Record<string, string>;
  /** PRIMARY KEY columns, or undefined for tables tracked with --key */
  primaryKey?: string[];
  /** the --key to track it with when it has no primary key */
  trackKey?: string[];
  /** the column naming the patient, to split data between facilities */
  patientColumn?: string;
}

export const SYNTHEA_TABLES: SyntheaTable[] = [
  { name: 'organizations', types: { LAT: 'REAL', LON: 'REAL', REVENUE: 'REAL', UTILIZATION: 'INTEGER' }, primaryKey: ['Id'] },
  { name: 'patients', types: { LAT: 'REAL', LON: 'REAL', HEALTHCARE_EXPENSES: 'REAL', HEALTHCARE_COVERAGE: 'REAL' }, primaryKey: ['Id'], patientColumn: 'Id' },
  { name: 'encounters', types: { BASE_ENCOUNTER_COST: 'REAL', TOTAL_CLAIM_COST: 'REAL', PAYER_COVERAGE: 'REAL' }, primaryKey: ['Id'], patientColumn: 'PATIENT' },
  { name: 'observations', types: {}, trackKey: ['DATE', 'PATIENT', 'CODE'], patientColumn: 'PATIENT' },
  { name: 'conditions', types: {}, trackKey: ['START', 'PATIENT', 'CODE'], patientColumn: 'PATIENT' },
];

export function syntheaRows(table: string): Record<string, string>[] {
  const text = readFileSync(join(packageRoot(), 'fixtures', 'synthea', `${table}.csv`), 'utf8');
  return parse(text, { columns: true, skip_empty_lines: true }) as Record<string, string>[];
}

export interface BuildOptions {
  /** keep only patients for which this returns true (by index in patients.csv, and id) */
  patientFilter?: (index: number, id: string) => boolean;
  tables?: string[];
}

/** Create (or fill) an EMR database at `path`; returns row counts per table. */
export function buildSyntheaDb(path: string, o: BuildOptions = {}): Record<string, number> {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    const patients = syntheaRows('patients');
    const keep = new Set(patients.filter((p, i) => (o.patientFilter ? o.patientFilter(i, p.Id!) : true)).map((p) => p.Id!));
    const counts: Record<string, number> = {};
    for (const t of SYNTHEA_TABLES) {
      if (o.tables && !o.tables.includes(t.name)) continue;
      const rows = syntheaRows(t.name);
      const cols = Object.keys(rows[0] ?? {});
      const defs = cols.map((c) => `"${c}" ${t.types[c] ?? 'TEXT'}`);
      if (t.primaryKey) defs.push(`PRIMARY KEY (${t.primaryKey.map((k) => `"${k}"`).join(', ')})`);
      db.exec(`CREATE TABLE IF NOT EXISTS "${t.name}" (${defs.join(', ')})`);
      const insert = db.prepare(`INSERT INTO "${t.name}" (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
      let n = 0;
      db.transaction(() => {
        for (const r of rows) {
          if (t.patientColumn && !keep.has(r[t.patientColumn]!)) continue;
          insert.run(cols.map((c) => (r[c] === '' && !(t.trackKey ?? t.primaryKey ?? []).includes(c) ? null : r[c])));
          n++;
        }
      })();
      counts[t.name] = n;
    }
    return counts;
  } finally {
    db.close();
  }
}

/**
 * Round 2 of the demo at the first facility: a new column (PHONE) filled for the transferred
 * patient, five observations corrected, the latest encounter deleted with its observations, and
 * the transferred patient's address updated. Returns how many observations were corrected.
 */
export function lifeGoesOnAt(path: string, transferred: string): number {
  return withEmr(path, (db) => {
    db.exec('ALTER TABLE patients ADD COLUMN PHONE TEXT');
    db.prepare("UPDATE patients SET PHONE = '+250 788 000 017' WHERE Id = ?").run(transferred);
    const corrected = db.prepare("UPDATE observations SET VALUE = '39.2', UNITS = 'Cel' WHERE rowid IN (SELECT rowid FROM observations ORDER BY DATE LIMIT 5)").run().changes;
    const enc = db.prepare('SELECT Id FROM encounters ORDER BY START DESC LIMIT 1').get() as { Id: string };
    db.prepare('DELETE FROM observations WHERE ENCOUNTER = ?').run(enc.Id);
    db.prepare('DELETE FROM encounters WHERE Id = ?').run(enc.Id);
    db.prepare("UPDATE patients SET ADDRESS = 'KK 15 Ave, Kicukiro' WHERE Id = ?").run(transferred);
    return corrected;
  });
}

/** Round 2 at the second facility: the transferred patient's address edited here too, the demo's conflict. */
export function editTransferredPatientAt(path: string, transferred: string): void {
  withEmr(path, (db) => db.prepare("UPDATE patients SET ADDRESS = 'NM 3 St, Musanze', CITY = 'Musanze' WHERE Id = ?").run(transferred));
}

function withEmr<T>(path: string, fn: (db: Database.Database) => T): T {
  const db = new Database(path);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}
