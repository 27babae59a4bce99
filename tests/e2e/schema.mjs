// Validation against OpenAI's published OpenAPI document, when one is at hand: it is optional
// and not part of the repository; without it schema validation is off (schemas().available).
// The document is 3 MB; a full YAML parse takes ~10 s, so only the schemas the suite needs and
// what they reference are cut out of components.schemas and parsed, once per process.
// OpenAPI's `nullable: true` is rewritten into JSON Schema before compiling with Ajv (2020-12).

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import Ajv2020 from 'ajv/dist/2020.js';

// Where to look: OPENAI_OPENAPI, else a copy next to the clone or at a fixed path, if present.
const besideRepo = fileURLToPath(new URL('../../../shared/openai-openapi.yaml', import.meta.url));
export const SPEC_FILE = process.env.OPENAI_OPENAPI ??
  (existsSync(besideRepo) ? besideRepo : '/work/shared/openai-openapi.yaml');
export const SCHEMA_NAMES = [
  'CreateChatCompletionResponse',
  'CreateChatCompletionStreamResponse',
  'ListModelsResponse',
  'Model',
  'ErrorResponse',
];
const BASE_ID = 'https://z-ai-proxy.test/openai.json';
const REF = /\$ref:\s*["']?#\/components\/schemas\/([A-Za-z0-9_.-]+)["']?/g;

// name -> YAML text of that entry of components.schemas (indented by four spaces).
function indexSchemas(text) {
  const lines = text.split('\n');
  const begin = lines.findIndex((l, i) => l === 'components:' && lines[i + 1] === '  schemas:');
  if (begin < 0) throw new Error(`${SPEC_FILE}: no components.schemas`);
  const index = new Map();
  let name = null;
  let start = 0;
  for (let i = begin + 2; i <= lines.length; i++) {
    const line = lines[i];
    const atEnd = line === undefined || /^ {0,2}\S/.test(line);
    const m = !atEnd && /^ {4}([A-Za-z0-9_.-]+):\s*$/.exec(line);
    if (atEnd || m) {
      if (name) index.set(name, lines.slice(start, i).join('\n'));
      if (atEnd) break;
      name = m[1];
      start = i;
    }
  }
  return index;
}

function loadComponents(names) {
  const index = indexSchemas(readFileSync(SPEC_FILE, 'utf8'));
  const schemas = {};
  const todo = [...names];
  while (todo.length) {
    const name = todo.pop();
    if (name in schemas) continue;
    const text = index.get(name);
    if (text === undefined) throw new Error(`${SPEC_FILE}: schema ${name} not found`);
    schemas[name] = parse(text)[name];
    for (const m of text.matchAll(REF)) if (!(m[1] in schemas)) todo.push(m[1]);
  }
  return schemas;
}

// OpenAPI 3.0 `nullable` (still used in parts of the 3.1 document) -> JSON Schema.
export function normalizeNullable(node) {
  if (Array.isArray(node)) return node.map(normalizeNullable);
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) out[k] = normalizeNullable(v);
  if (out.nullable !== true) {
    delete out.nullable;
    return out;
  }
  delete out.nullable;
  if (typeof out.type === 'string' || Array.isArray(out.type)) {
    out.type = [...new Set([].concat(out.type, 'null'))];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    return out;
  }
  return { anyOf: [out, { type: 'null' }] };
}

let cached;

// -> {available, file, validate(name, value) -> null | "error text"}
export function schemas() {
  if (cached) return cached;
  if (!existsSync(SPEC_FILE)) {
    cached = { available: false, file: SPEC_FILE, validate: () => null };
    return cached;
  }
  const components = normalizeNullable(loadComponents(SCHEMA_NAMES));
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true, validateSchema: false });
  ajv.addSchema({ $id: BASE_ID, components: { schemas: components } });
  const compiled = new Map();
  const validate = (name, value) => {
    if (!compiled.has(name)) {
      const fn = ajv.getSchema(`${BASE_ID}#/components/schemas/${name}`);
      if (!fn) throw new Error(`no schema ${name}`);
      compiled.set(name, fn);
    }
    const fn = compiled.get(name);
    return fn(value) ? null : ajv.errorsText(fn.errors, { dataVar: name });
  };
  cached = { available: true, file: SPEC_FILE, validate };
  return cached;
}
