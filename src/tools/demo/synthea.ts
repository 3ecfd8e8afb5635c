/**
 * EMR databases (SQLite) built from the Synthea sample in fixtures/synthea. The tests' EMR
 * (buildSyntheaDb) holds the CSV files as they are: UUID keys, declared types, empty fields stored
 * as NULL. The demo's (buildDemoEmr) holds them as an OpenMRS-style EMR would, numbered from 1 at
 * each health centre; with the edits the demo makes in round 2. The demo's other files reach the
 * EMR only through these.
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
 * The demo's health centres keep their records the way real EMRs do (OpenMRS's names): every
 * clinical table keyed by a local auto-increment integer, so both centres have a patient 1, and
 * reference data keyed by what means the same thing everywhere (a location's uuid, a concept's
 * code). The Synthea sample fills them: each centre its own patients, both the whole dictionary.
 */
export interface DemoTable {
  name: string;
  /** shared: tracked with --shared by this key (rows merge at the hub); otherwise facility-owned */
  sharedBy?: string;
}

export const DEMO_TABLES: DemoTable[] = [
  { name: 'location', sharedBy: 'uuid' },
  { name: 'concept', sharedBy: 'code' },
  { name: 'patient' },
  { name: 'encounter' },
  { name: 'obs' },
  { name: 'condition' },
];

const DEMO_SCHEMA = `
CREATE TABLE location (uuid TEXT PRIMARY KEY, name TEXT NOT NULL, address TEXT, city TEXT, state TEXT, postal_code TEXT,
  latitude REAL, longitude REAL, phone TEXT);
CREATE TABLE concept (code TEXT PRIMARY KEY, name TEXT NOT NULL, class TEXT NOT NULL, datatype TEXT);
CREATE TABLE patient (patient_id INTEGER PRIMARY KEY AUTOINCREMENT, uuid TEXT NOT NULL UNIQUE, given_name TEXT NOT NULL,
  family_name TEXT NOT NULL, gender TEXT, birthdate TEXT, address TEXT, city TEXT);
CREATE TABLE encounter (encounter_id INTEGER PRIMARY KEY AUTOINCREMENT, uuid TEXT NOT NULL UNIQUE,
  patient_id INTEGER NOT NULL REFERENCES patient (patient_id), location_uuid TEXT REFERENCES location (uuid),
  encounter_type TEXT, encounter_datetime TEXT NOT NULL, end_datetime TEXT, reason TEXT, total_cost REAL);
CREATE TABLE obs (obs_id INTEGER PRIMARY KEY AUTOINCREMENT, patient_id INTEGER NOT NULL REFERENCES patient (patient_id),
  encounter_id INTEGER REFERENCES encounter (encounter_id), concept_code TEXT NOT NULL REFERENCES concept (code),
  obs_datetime TEXT NOT NULL, value_numeric REAL, value_text TEXT, units TEXT);
CREATE TABLE condition (condition_id INTEGER PRIMARY KEY AUTOINCREMENT, patient_id INTEGER NOT NULL REFERENCES patient (patient_id),
  encounter_id INTEGER REFERENCES encounter (encounter_id), concept_code TEXT NOT NULL REFERENCES concept (code),
  onset_date TEXT NOT NULL, end_date TEXT);
`;

/** Synthea appends digits to its made-up names ("Maynard46"); an EMR would not. */
const personName = (s: string) => s.replace(/\d+$/, '');
const orNull = (s: string | undefined) => (s === undefined || s === '' ? null : s);

/**
 * A health centre's EMR at `path`, holding the Synthea patients `patients` selects (by index in
 * patients.csv), numbered from 1 in that order, with their encounters, observations and
 * conditions; and every location and concept. Returns row counts per table.
 */
export function buildDemoEmr(path: string, patients: (index: number) => boolean): Record<string, number> {
  return withEmr(path, (db) => {
    db.pragma('journal_mode = WAL');
    db.exec(DEMO_SCHEMA);
    const counts: Record<string, number> = {};
    const insert = (table: string, row: Record<string, unknown>): number => {
      const cols = Object.keys(row);
      const r = db.prepare(`INSERT INTO "${table}" (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`).run(Object.values(row));
      counts[table] = (counts[table] ?? 0) + 1;
      return Number(r.lastInsertRowid);
    };
    db.transaction(() => {
      for (const o of syntheaRows('organizations')) {
        insert('location', { uuid: o.Id, name: o.NAME, address: orNull(o.ADDRESS), city: orNull(o.CITY), state: orNull(o.STATE), postal_code: orNull(o.ZIP), latitude: Number(o.LAT), longitude: Number(o.LON), phone: orNull(o.PHONE) });
      }
      // The dictionary both centres were given: every code the sample uses, once, in the order first met.
      const concepts = new Map<string, { name: string; class: string; datatype: string | null }>();
      for (const o of syntheaRows('observations')) if (!concepts.has(o.CODE!)) concepts.set(o.CODE!, { name: o.DESCRIPTION!, class: o.CATEGORY || 'observation', datatype: o.TYPE || null });
      for (const c of syntheaRows('conditions')) if (!concepts.has(c.CODE!)) concepts.set(c.CODE!, { name: c.DESCRIPTION!, class: 'diagnosis', datatype: null });
      for (const [code, c] of concepts) insert('concept', { code, ...c });

      const patientId = new Map<string, number>();
      syntheaRows('patients').forEach((p, i) => {
        if (!patients(i)) return;
        patientId.set(p.Id!, insert('patient', { uuid: p.Id, given_name: personName(p.FIRST!), family_name: personName(p.LAST!), gender: orNull(p.GENDER), birthdate: orNull(p.BIRTHDATE), address: orNull(p.ADDRESS), city: orNull(p.CITY) }));
      });
      const encounterId = new Map<string, number>();
      for (const e of syntheaRows('encounters')) {
        const pid = patientId.get(e.PATIENT!);
        if (pid === undefined) continue;
        encounterId.set(e.Id!, insert('encounter', { uuid: e.Id, patient_id: pid, location_uuid: orNull(e.ORGANIZATION), encounter_type: orNull(e.ENCOUNTERCLASS), encounter_datetime: e.START, end_datetime: orNull(e.STOP), reason: orNull(e.DESCRIPTION), total_cost: Number(e.TOTAL_CLAIM_COST) }));
      }
      for (const o of syntheaRows('observations')) {
        const pid = patientId.get(o.PATIENT!);
        if (pid === undefined) continue;
        const numeric = o.TYPE === 'numeric';
        insert('obs', { patient_id: pid, encounter_id: encounterId.get(o.ENCOUNTER!) ?? null, concept_code: o.CODE, obs_datetime: o.DATE, value_numeric: numeric ? Number(o.VALUE) : null, value_text: numeric ? null : orNull(o.VALUE), units: orNull(o.UNITS) });
      }
      for (const c of syntheaRows('conditions')) {
        const pid = patientId.get(c.PATIENT!);
        if (pid === undefined) continue;
        insert('condition', { patient_id: pid, encounter_id: encounterId.get(c.ENCOUNTER!) ?? null, concept_code: c.CODE, onset_date: c.START, end_date: orNull(c.STOP) });
      }
    })();
    return counts;
  });
}

/** The concept both centres rename in round 2, so that the hub meets two edits of one shared row. */
export const RENAMED_CONCEPT = '8302-2';
/** The phone number the first centre corrects on one location in round 2, a shared row only it edits. */
export const CORRECTED_PHONE = '+250 252 580 017';

/**
 * Round 2 at the first centre: a new column (phone) filled for its patient 1, five
 * observations corrected, its latest encounter deleted with what was recorded in it, patient 2's
 * address updated; a location's phone number corrected (a shared row nobody else touched) and a
 * concept renamed (a shared row the other centre renames too). Returns how many observations
 * were corrected and the uuid of the location.
 */
export function lifeGoesOnAt(path: string): { corrected: number; location: string } {
  return withEmr(path, (db) => {
    db.exec('ALTER TABLE patient ADD COLUMN phone TEXT');
    db.prepare("UPDATE patient SET phone = '+250 788 000 017' WHERE patient_id = 1").run();
    const corrected = db.prepare("UPDATE obs SET value_numeric = 39.2, units = 'Cel' WHERE obs_id IN (SELECT obs_id FROM obs WHERE value_numeric IS NOT NULL ORDER BY obs_datetime, obs_id LIMIT 5)").run().changes;
    const latest = db.prepare('SELECT encounter_id FROM encounter ORDER BY encounter_datetime DESC, encounter_id DESC LIMIT 1').get() as { encounter_id: number };
    db.prepare('DELETE FROM obs WHERE encounter_id = ?').run(latest.encounter_id);
    db.prepare('DELETE FROM condition WHERE encounter_id = ?').run(latest.encounter_id);
    db.prepare('DELETE FROM encounter WHERE encounter_id = ?').run(latest.encounter_id);
    db.prepare("UPDATE patient SET address = 'KK 15 Ave', city = 'Kicukiro' WHERE patient_id = 2").run();
    const location = (db.prepare('SELECT uuid FROM location ORDER BY uuid LIMIT 1').get() as { uuid: string }).uuid;
    db.prepare('UPDATE location SET phone = ? WHERE uuid = ?').run(CORRECTED_PHONE, location);
    db.prepare("UPDATE concept SET name = 'Body height (cm)' WHERE code = ?").run(RENAMED_CONCEPT);
    return { corrected, location };
  });
}

/** Round 2 at the second centre: its own patient 1 moved, and the same concept renamed its own way. */
export function meanwhileAt(path: string): void {
  withEmr(path, (db) => {
    db.prepare("UPDATE patient SET address = 'NM 3 St', city = 'Musanze' WHERE patient_id = 1").run();
    db.prepare("UPDATE concept SET name = 'Height' WHERE code = ?").run(RENAMED_CONCEPT);
  });
}

function withEmr<T>(path: string, fn: (db: Database.Database) => T): T {
  const db = new Database(path);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}
