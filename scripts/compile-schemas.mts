// Writes src/format/schema-validators.generated.ts from schemas/*.schema.json (run: npm run schemas).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GENERATED_PATH, generateSchemaValidators } from './schema-codegen.mts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
writeFileSync(join(ROOT, GENERATED_PATH), generateSchemaValidators(ROOT));
console.log(`wrote ${GENERATED_PATH}`);
