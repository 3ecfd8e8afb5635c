/**
 * Realistic change rows for the benchmark, shaped like Synthea's encounters: UUID keys,
 * timestamps, codes, free text, costs. Generated from a seed, so every measurement sees the
 * same rows without holding them all in memory.
 */
import { seededRandom } from './args.js';

export const BENCH_COLUMNS = [
  ['Id', 'TEXT'],
  ['START', 'TEXT'],
  ['STOP', 'TEXT'],
  ['PATIENT', 'TEXT'],
  ['ORGANIZATION', 'TEXT'],
  ['ENCOUNTERCLASS', 'TEXT'],
  ['CODE', 'TEXT'],
  ['DESCRIPTION', 'TEXT'],
  ['BASE_ENCOUNTER_COST', 'REAL'],
  ['TOTAL_CLAIM_COST', 'REAL'],
  ['REASONCODE', 'TEXT'],
  ['REASONDESCRIPTION', 'TEXT'],
] as const;

const CLASSES = ['ambulatory', 'wellness', 'outpatient', 'emergency', 'inpatient', 'urgentcare'];
const CODES: Array<[string, string]> = [
  ['185345009', 'Encounter for symptom'],
  ['410620009', 'Well child visit (procedure)'],
  ['162673000', 'General examination of patient (procedure)'],
  ['50849002', 'Emergency room admission (procedure)'],
  ['185349003', 'Encounter for check up (procedure)'],
  ['424441002', 'Prenatal initial visit'],
  ['698314001', 'Consultation for treatment'],
];
const REASONS: Array<[string, string]> = [
  ['195662009', 'Acute viral pharyngitis (disorder)'],
  ['444814009', 'Viral sinusitis (disorder)'],
  ['10509002', 'Acute bronchitis (disorder)'],
  ['72892002', 'Normal pregnancy'],
  ['', ''],
  ['', ''],
];
const WORDS = 'patient reports fever cough headache since days mild moderate severe follow up advised rest fluids paracetamol referred clinic review malaria test negative positive'.split(' ');

const hex = (r: () => number, n: number) => {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(r() * 16).toString(16);
  return s;
};
const uuid = (r: () => number) => `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-${hex(r, 4)}-${hex(r, 12)}`;

/** n rows as arrays in BENCH_COLUMNS order. */
export function* benchRows(n: number, seed = 1): Generator<unknown[]> {
  const r = seededRandom(seed);
  const patients = Array.from({ length: 2000 }, () => uuid(r));
  const orgs = Array.from({ length: 40 }, () => uuid(r));
  let t = Date.UTC(2025, 0, 1);
  for (let i = 0; i < n; i++) {
    t += Math.floor(r() * 600_000);
    const [code, desc] = CODES[Math.floor(r() * CODES.length)]!;
    const [rc, rd] = REASONS[Math.floor(r() * REASONS.length)]!;
    const words = Array.from({ length: 3 + Math.floor(r() * 8) }, () => WORDS[Math.floor(r() * WORDS.length)]).join(' ');
    yield [
      uuid(r),
      new Date(t).toISOString().replace('.000', ''),
      new Date(t + 900_000).toISOString().replace('.000', ''),
      patients[Math.floor(r() * patients.length)],
      orgs[Math.floor(r() * orgs.length)],
      CLASSES[Math.floor(r() * CLASSES.length)],
      code,
      `${desc}; ${words}`,
      Math.round(r() * 20000) / 100,
      Math.round(r() * 500000) / 100,
      rc || null,
      rd || null,
    ];
  }
}
