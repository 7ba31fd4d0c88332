/**
 * Reads docker/kubernetes as `kubectl apply -k` would for our purposes: the kustomization,
 * every document of every resource file, and the ConfigMaps its configMapGenerator makes
 * (by their generator names: kustomize appends a content hash and rewrites the references
 * to match, so checking references by the plain name is equivalent).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, parseDocument } from 'yaml';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The parts of kustomization.yaml these manifests use. */
export interface Kustomization {
  readonly namespace: string | null;
  readonly resources: readonly string[];
  readonly images: ReadonlyArray<{ readonly name: string; readonly newName: string | null; readonly newTag: string | null }>;
  readonly configMapGenerator: ReadonlyArray<{ readonly name: string; readonly literals: readonly string[]; readonly envs: readonly string[] }>;
  /** Every top-level key, to refuse the ones this reader does not understand. */
  readonly keys: readonly string[];
}

/** One Kubernetes object and where it came from. */
export interface Manifest {
  readonly file: string;
  readonly object: JsonObject;
}

export interface Bundle {
  readonly dir: string;
  readonly kustomization: Kustomization;
  /** The resource files' objects, then the generated ConfigMaps. */
  readonly manifests: readonly Manifest[];
}

/** The files of the bundle, by name relative to its folder; a test may replace any of them. */
export type Files = Readonly<Record<string, string>>;

function strings(value: Json | undefined, what: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) throw new Error(`${what} is not a list of strings`);
  return value;
}

function optionalString(value: Json | undefined): string | null {
  return typeof value === 'string' ? value : value === undefined || value === null ? null : String(value);
}

/** One YAML document as JSON; duplicate keys and syntax errors throw, naming the file. */
function parseYaml(text: string, file: string): Json[] {
  return parseAllDocuments(text).map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${file} document ${i + 1}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as Json;
  });
}

export function parseKustomization(text: string): Kustomization {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`kustomization.yaml: ${doc.errors.map((e) => e.message).join('; ')}`);
  const k: unknown = doc.toJS();
  if (!isObject(k)) throw new Error('kustomization.yaml is not a mapping');
  const images = Array.isArray(k['images']) ? k['images'] : [];
  const generators = Array.isArray(k['configMapGenerator']) ? k['configMapGenerator'] : [];
  return {
    namespace: optionalString(k['namespace']),
    resources: strings(k['resources'], 'resources'),
    images: images.filter(isObject).map((i) => ({ name: String(i['name']), newName: optionalString(i['newName']), newTag: optionalString(i['newTag']) })),
    configMapGenerator: generators.filter(isObject).map((g) => ({
      name: String(g['name']),
      literals: strings(g['literals'], `configMapGenerator ${String(g['name'])} literals`),
      envs: strings(g['envs'], `configMapGenerator ${String(g['name'])} envs`),
    })),
    keys: Object.keys(k),
  };
}

/** The ConfigMap a generator makes: `KEY=value` literals, split at the first `=`. */
export function generatedConfigMap(name: string, literals: readonly string[]): JsonObject {
  const data: JsonObject = {};
  for (const literal of literals) {
    const at = literal.indexOf('=');
    if (at <= 0) throw new Error(`configMapGenerator ${name}: ${JSON.stringify(literal)} is not KEY=value`);
    data[literal.slice(0, at)] = literal.slice(at + 1);
  }
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data };
}

export function loadBundle(dir: string, files: Files): Bundle {
  const text = files['kustomization.yaml'];
  if (text === undefined) throw new Error(`${dir} has no kustomization.yaml`);
  const kustomization = parseKustomization(text);
  const manifests: Manifest[] = [];
  for (const file of kustomization.resources) {
    const resource = files[file];
    if (resource === undefined) throw new Error(`kustomization.yaml lists ${file}, which is not in ${dir}`);
    for (const object of parseYaml(resource, file)) {
      if (object === null) continue;
      if (!isObject(object)) throw new Error(`${file}: a document is not a mapping`);
      manifests.push({ file, object });
    }
  }
  for (const g of kustomization.configMapGenerator) {
    if (g.envs.length > 0) throw new Error(`configMapGenerator ${g.name}: envs files are not read here; use literals`);
    manifests.push({ file: 'kustomization.yaml', object: generatedConfigMap(g.name, g.literals) });
  }
  return { dir, kustomization, manifests };
}

/** Every file in `dir` (not in subfolders), by name. */
export function readFiles(dir: string, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.map((name) => [name, readFileSync(path.join(dir, name), 'utf8')]));
}
