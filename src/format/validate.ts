/**
 * JSON Schema validation of every JSON document ferry reads (schemas/*.json): the error names
 * the failing field, so a user can see what is wrong and where.
 *
 * The validators are ajv's standalone code, generated from the schemas by `npm run schemas`
 * and committed (schema-validators.generated.ts): compiling the schemas at run time loaded
 * ajv's 60-odd files and cost `status` and `inspect` about 100 ms on every start.
 * test/schema-validators.test.ts keeps the file and the schemas in step.
 */
import type { ErrorObject } from 'ajv';
import * as generated from './schema-validators.generated.js';

export type SchemaName = 'manifest' | 'ack' | 'identity' | 'change-record' | 'rotation' | 'request' | 'request-body';

/** The shape of a generated validator: ajv's ValidateFunction without the compiler's extras. */
type Validator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

const VALIDATORS: Record<SchemaName, Validator> = {
  manifest: generated.manifest,
  ack: generated.ack,
  identity: generated.identity,
  'change-record': generated.changeRecord,
  rotation: generated.rotation,
  request: generated.request,
  'request-body': generated.requestBody,
};

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
  const v = VALIDATORS[name];
  return v(value) ? undefined : describe(v.errors);
}
