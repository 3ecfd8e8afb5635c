/**
 * OpenMRS-shaped EMRs for the tests and the two-facility walkthrough: fixtures/openmrs/schema.sql
 * (person, person_name, patient, patient_identifier, encounter, obs, location with OpenMRS's
 * column names) filled with made-up rows. Every health centre numbers its rows from 1, as
 * OpenMRS does, so patient 1 at one centre and patient 1 at another are two different people:
 * the case issue 14 is about. The location table is reference data every centre holds with the
 * same uuids; one location ("Maternity") each centre edited in its own way before ferry.
 *
 * Deterministic: the same site gives the same rows, byte for byte, on every run. Not real
 * patient data (fixtures/openmrs/README.md).
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../core/package-root.js';
import { q } from '../../core/sql-identifier.js';
import { track } from '../../facility/track.js';
import type { OpContext } from '../../node/context.js';
import { seededRandom } from './args.js';

export interface OpenmrsSite {
  /** the ferry facility id */
  id: string;
  name: string;
  /** the three letters in its patient identifiers (RW-MUH-017-000005) */
  code: string;
  /** its own row in the shared location table */
  locationId: number;
  patients: number;
  /** patient 1's given and family name, so a reader can tell the two patient 1s apart */
  first: [string, string];
}

export const OPENMRS_SITES: readonly OpenmrsSite[] = [
  { id: 'RW-017', name: 'Muhima Health Centre', code: 'MUH', locationId: 3, patients: 5, first: ['Alice', 'Uwase'] },
  { id: 'RW-021', name: 'Kacyiru Health Centre', code: 'KAC', locationId: 4, patients: 4, first: ['Claire', 'Mukamana'] },
  { id: 'RW-033', name: 'Gikondo Health Centre', code: 'GIK', locationId: 5, patients: 6, first: ['Jean', 'Habimana'] },
];

export interface OpenmrsTable {
  name: string;
  /** the primary key (facility-owned tables) or the identity every site shares (shared tables) */
  key: string[];
  scope: 'facility' | 'shared';
}

/** The tables as a site tracks them: location shared by uuid, the rest facility-owned by their local key. */
export const OPENMRS_TABLES: readonly OpenmrsTable[] = [
  { name: 'location', key: ['uuid'], scope: 'shared' },
  { name: 'person', key: ['person_id'], scope: 'facility' },
  { name: 'person_name', key: ['person_name_id'], scope: 'facility' },
  { name: 'patient', key: ['patient_id'], scope: 'facility' },
  { name: 'patient_identifier', key: ['patient_identifier_id'], scope: 'facility' },
  { name: 'encounter', key: ['encounter_id'], scope: 'facility' },
  { name: 'obs', key: ['obs_id'], scope: 'facility' },
];

export const OPENMRS_FACILITY_TABLES = OPENMRS_TABLES.filter((t) => t.scope === 'facility');

/** OpenMRS's own default location keeps its real uuid; the others are derived from their names. */
const UNKNOWN_LOCATION_UUID = '8d6c993e-c2cc-11de-8d13-0010c6dffd0f';

/** A uuid derived from `seed` (SHA-256, shaped as a version-4 uuid): stable across runs and machines. */
export function fixtureUuid(seed: string): string {
  const h = createHash('sha256').update(`ferry openmrs fixture/${seed}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The uuid of a location row, the same at every site. */
export const locationUuid = (name: string): string => (name === 'Unknown Location' ? UNKNOWN_LOCATION_UUID : fixtureUuid(`location/${name}`));

/** The location every site edited in its own way before ferry arrived: its uuid is shared, its description is not. */
export const DIVERGENT_LOCATION = 'Maternity';

interface LocationRow {
  location_id: number;
  name: string;
  description: string | null;
  city_village: string | null;
  state_province: string | null;
  country: string | null;
  latitude: string | null;
  longitude: string | null;
  parent_location: number | null;
}

const LOCATIONS: LocationRow[] = [
  { location_id: 1, name: 'Unknown Location', description: null, city_village: null, state_province: null, country: null, latitude: null, longitude: null, parent_location: null },
  { location_id: 2, name: 'Kigali', description: 'City of Kigali', city_village: null, state_province: 'Kigali', country: 'Rwanda', latitude: '-1.9441', longitude: '30.0619', parent_location: null },
  { location_id: 3, name: 'Muhima Health Centre', description: null, city_village: 'Muhima', state_province: 'Kigali', country: 'Rwanda', latitude: '-1.9437', longitude: '30.0556', parent_location: 2 },
  { location_id: 4, name: 'Kacyiru Health Centre', description: null, city_village: 'Kacyiru', state_province: 'Kigali', country: 'Rwanda', latitude: '-1.9355', longitude: '30.0803', parent_location: 2 },
  { location_id: 5, name: 'Gikondo Health Centre', description: null, city_village: 'Gikondo', state_province: 'Kigali', country: 'Rwanda', latitude: '-1.9706', longitude: '30.0768', parent_location: 2 },
  { location_id: 6, name: 'Laboratory', description: 'Shared laboratory services', city_village: null, state_province: 'Kigali', country: 'Rwanda', latitude: null, longitude: null, parent_location: 2 },
  { location_id: 7, name: DIVERGENT_LOCATION, description: 'Maternity ward', city_village: null, state_province: 'Kigali', country: 'Rwanda', latitude: null, longitude: null, parent_location: 2 },
];

const GIVEN = { F: ['Diane', 'Grace', 'Aline', 'Josiane', 'Solange', 'Chantal', 'Esther'], M: ['Eric', 'Patrick', 'Olivier', 'Emmanuel', 'Innocent', 'Samuel', 'Didier'] };
const FAMILY = ['Mugisha', 'Niyonzima', 'Ingabire', 'Uwimana', 'Nshimiyimana', 'Iradukunda', 'Hakizimana', 'Mutesi'];
/** CIEL concepts, as OpenMRS distributions number them. */
const CONCEPT = { weight: 5089, temperature: 5088, malariaTest: 1643, positive: 703, negative: 664, clinicalNote: 160632 };
const ENCOUNTER_TYPE = { initial: 1, followUp: 2 };
const IDENTIFIER_TYPE = { openmrsId: 3, nationalId: 5 };

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const at = (day: number, minutes: number) => {
  const d = new Date(Date.UTC(2026, 2, 2) + day * 86_400_000 + minutes * 60_000);
  return d.toISOString().slice(0, 19).replace('T', ' ');
};

/** The patient identifier a site prints on its cards, e.g. RW-MUH-017-000005. */
export const patientIdentifier = (site: OpenmrsSite, patientId: number): string => `RW-${site.code}-${site.id.slice(3)}-${String(patientId).padStart(6, '0')}`;

export function openmrsSchema(): string {
  return readFileSync(join(packageRoot(), 'fixtures', 'openmrs', 'schema.sql'), 'utf8');
}

export function openmrsSite(id: string): OpenmrsSite {
  const site = OPENMRS_SITES.find((s) => s.id === id);
  if (!site) throw new Error(`no OpenMRS fixture site ${id} (there are ${OPENMRS_SITES.map((s) => s.id).join(', ')})`);
  return site;
}

/**
 * Create the EMR of `site` at `path` (a new file): the schema and its rows, inserted in the
 * order OpenMRS would (foreign keys enforced). Returns the row count per table.
 */
export function buildOpenmrsEmr(path: string, site: OpenmrsSite): Record<string, number> {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.exec(openmrsSchema());
    db.transaction(() => fill(db, site))();
    const check = db.pragma('foreign_key_check') as unknown[];
    if (check.length) throw new Error(`the OpenMRS fixture for ${site.id} breaks ${check.length} foreign keys`);
    return Object.fromEntries(OPENMRS_TABLES.map((t) => [t.name, (db.prepare(`SELECT count(*) AS n FROM ${q(t.name)}`).get() as { n: number }).n]));
  } finally {
    db.close();
  }
}

function insert(db: Database.Database, table: string, row: Record<string, unknown>): number {
  const cols = Object.keys(row);
  return Number(db.prepare(`INSERT INTO ${q(table)} (${cols.map(q).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`).run(...cols.map((c) => row[c])).lastInsertRowid);
}

function fill(db: Database.Database, site: OpenmrsSite): void {
  const r = seededRandom(7919 * (1 + OPENMRS_SITES.indexOf(site)));
  for (let i = 0; i < 8; i++) r(); // xorshift's first draws from a small seed are small
  const created = at(-30, 0);
  for (const l of LOCATIONS) {
    const description = l.name === DIVERGENT_LOCATION ? `${l.description} (${site.name})` : l.description;
    insert(db, 'location', { ...l, description, creator: 1, date_created: created, retired: 0, uuid: locationUuid(l.name) });
  }
  const uuid = (table: string, id: number) => fixtureUuid(`${site.id}/${table}/${id}`);
  for (let p = 1; p <= site.patients; p++) {
    const gender: 'F' | 'M' = p === 1 ? (site.first[0] === 'Jean' ? 'M' : 'F') : pick(r, ['F', 'M'] as const);
    const [given, family] = p === 1 ? site.first : [pick(r, GIVEN[gender]), pick(r, FAMILY)];
    const day = p * 3;
    const dead = p === 4 ? 1 : 0;
    const personId = insert(db, 'person', {
      gender,
      birthdate: `${1960 + Math.floor(r() * 45)}-${String(1 + Math.floor(r() * 12)).padStart(2, '0')}-${String(1 + Math.floor(r() * 28)).padStart(2, '0')}`,
      birthdate_estimated: p === 3 ? 1 : 0,
      dead,
      death_date: dead ? at(day + 20, 600) : null,
      creator: 1,
      date_created: at(day, 480),
      voided: 0,
      uuid: uuid('person', p),
    });
    insert(db, 'person_name', { preferred: 1, person_id: personId, given_name: given, family_name: family, creator: 1, date_created: at(day, 480), voided: 0, uuid: uuid('person_name', personId) });
    insert(db, 'patient', { patient_id: personId, creator: 1, date_created: at(day, 481), voided: 0, allergy_status: p % 2 ? 'Unknown' : 'No known allergies' });
    insert(db, 'patient_identifier', {
      patient_id: personId,
      identifier: patientIdentifier(site, personId),
      identifier_type: IDENTIFIER_TYPE.openmrsId,
      preferred: 1,
      location_id: site.locationId,
      creator: 1,
      date_created: at(day, 481),
      voided: 0,
      uuid: uuid('patient_identifier', personId * 2 - 1),
    });
    if (p % 2 === 0) {
      insert(db, 'patient_identifier', {
        patient_id: personId,
        identifier: `1${1960 + p * 7}8${String(Math.floor(r() * 1e10)).padStart(10, '0')}`,
        identifier_type: IDENTIFIER_TYPE.nationalId,
        preferred: 0,
        location_id: site.locationId,
        creator: 1,
        date_created: at(day, 482),
        voided: 0,
        uuid: uuid('patient_identifier', personId * 2),
      });
    }
    for (let v = 0; v < 2; v++) {
      const when = at(day + v * 14, 540 + Math.floor(r() * 240));
      const encounterId = insert(db, 'encounter', {
        encounter_type: v === 0 ? ENCOUNTER_TYPE.initial : ENCOUNTER_TYPE.followUp,
        patient_id: personId,
        location_id: site.locationId,
        encounter_datetime: when,
        creator: 1,
        date_created: when,
        voided: 0,
        uuid: fixtureUuid(`${site.id}/encounter/${personId}/${v}`),
      });
      const obs = (concept: number, value: Record<string, unknown>) =>
        insert(db, 'obs', {
          person_id: personId,
          concept_id: concept,
          encounter_id: encounterId,
          obs_datetime: when,
          location_id: site.locationId,
          ...value,
          creator: 1,
          date_created: when,
          voided: 0,
          uuid: fixtureUuid(`${site.id}/obs/${encounterId}/${concept}`),
          status: 'FINAL',
        });
      // Whole kilograms sometimes: a DOUBLE column keeps 70.0 a REAL, and so must the hub.
      obs(CONCEPT.weight, { value_numeric: v === 0 && p % 2 ? 45 + Math.floor(r() * 40) : Math.round((45 + r() * 40) * 10) / 10 });
      obs(CONCEPT.temperature, { value_numeric: Math.round((36 + r() * 3) * 10) / 10 });
      if (v === 1) obs(CONCEPT.malariaTest, { value_coded: r() < 0.3 ? CONCEPT.positive : CONCEPT.negative });
      if (p === 1) obs(CONCEPT.clinicalNote, { value_text: v === 0 ? 'new patient, follow up in two weeks' : 'doing well' });
    }
  }
}

/** Track every table as the fixtures mean them: location shared by uuid, the rest facility-owned by their own key. */
export async function trackOpenmrs(ctx: OpContext): Promise<void> {
  for (const t of OPENMRS_TABLES) await track(ctx, t.scope === 'shared' ? { tables: [t.name], key: t.key, shared: true } : { tables: [t.name] });
}
