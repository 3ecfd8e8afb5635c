/**
 * JSON Schema validation of every JSON document ferry reads (schemas/*.json), through ajv:
 * the error names the failing field, so a user can see what is wrong and where.
 */
import type AjvModule from 'ajv';
import type { ValidateFunction, ErrorObject, Options } from 'ajv';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from '../core/package-root.js';

type AjvInstance = InstanceType<typeof AjvModule.default>;

/**
 * ajv (about 60 files) is loaded on the first validation, not when this module loads: `--help`
 * and `status` reach this module through the identity code without validating anything.
 * It is CommonJS, so require() loads it synchronously and schemaProblem stays synchronous.
 */
function loadAjv(): new (o: Options) => AjvInstance {
  const m = createRequire(import.meta.url)('ajv') as { default?: unknown };
  return (m.default ?? m) as new (o: Options) => AjvInstance;
}

export type SchemaName = 'manifest' | 'ack' | 'identity' | 'change-record' | 'rotation';

let ajv: AjvInstance | undefined;
const compiled = new Map<SchemaName, ValidateFunction>();
const NAMES: SchemaName[] = ['manifest', 'ack', 'identity', 'change-record', 'rotation'];

/** Compile a schema the first time it is needed: a re-import, say, needs only the manifest's. */
function validator(name: SchemaName): ValidateFunction {
  let v = compiled.get(name);
  if (v) return v;
  if (!ajv) {
    const Ajv = loadAjv();
    ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true });
    for (const n of NAMES) ajv.addSchema(JSON.parse(readFileSync(join(packageRoot(), 'schemas', `${n}.schema.json`), 'utf8')), `${n}.schema.json`);
  }
  v = ajv.getSchema(`${name}.schema.json`)!;
  compiled.set(name, v);
  return v;
}

/** Describe the first schema violation as "field: problem". */
function describe(errors: ErrorObject[] | null | undefined): string {
  if (!errors || errors.length === 0) return 'does not match its schema';
  // For oneOf failures ajv reports every branch; the deepest path is the most useful.
  const e = [...errors].sort((a, b) => b.instancePath.length - a.instancePath.length)[0]!;
  const field = e.instancePath === '' ? '(top level)' : e.instancePath.slice(1).replaceAll('/', '.');
  const extra =
    e.keyword === 'additionalProperties'
      ? ` "${(e.params as { additionalProperty: string }).additionalProperty}"`
      : e.keyword === 'required'
        ? ` "${(e.params as { missingProperty: string }).missingProperty}"`
        : e.keyword === 'const'
          ? ` ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`
          : '';
  return `${field}: ${e.message ?? 'is invalid'}${extra}`;
}

/** Returns undefined when valid, else a one-line description of the first problem. */
export function schemaProblem(name: SchemaName, value: unknown): string | undefined {
  const v = validator(name);
  return v(value) ? undefined : describe(v.errors);
}
