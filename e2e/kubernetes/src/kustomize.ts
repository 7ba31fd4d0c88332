/**
 * `kubectl kustomize` (the kustomize built into kubectl), when it is on PATH: what it
 * renders, brought back to the form loadBundle reads, so the two readings can be compared.
 */
import { accessSync, constants } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { isObject, type Json, type JsonObject } from './manifests';

export function onPath(binary: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** The objects `kubectl kustomize dir` renders. */
export function render(kubectl: string, dir: string): JsonObject[] {
  const result = spawnSync(kubectl, ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir}: ${result.stderr}`);
  return parseAllDocuments(result.stdout).map((d) => d.toJS() as Json).filter(isObject);
}

/** `value` with every string in `names` replaced by its mapping, deeply. */
function renamed(value: Json, names: ReadonlyMap<string, string>): Json {
  if (typeof value === 'string') return names.get(value) ?? value;
  if (Array.isArray(value)) return value.map((v) => renamed(v, names));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renamed(v, names)]));
  return value;
}

/**
 * Undoes what kustomize adds: the namespace on every object, the hash suffix of generated
 * ConfigMaps (in their names and every reference), and the `images:` rewrite.
 */
export function unrendered(objects: readonly JsonObject[], generated: readonly string[], images: ReadonlyMap<string, string>): JsonObject[] {
  const names = new Map<string, string>(images);
  for (const o of objects) {
    const name = isObject(o['metadata']) ? o['metadata']['name'] : undefined;
    const base = generated.find((g) => typeof name === 'string' && new RegExp(`^${g}-[a-z0-9]{10}$`).test(name));
    if (o['kind'] === 'ConfigMap' && typeof name === 'string' && base !== undefined) names.set(name, base);
  }
  return objects.map((o) => {
    const copy = renamed(o, names) as JsonObject;
    if (isObject(copy['metadata'])) delete copy['metadata']['namespace'];
    return copy;
  });
}

/** The ConfigMap names referenced anywhere in `value` (envFrom configMapRef, env configMapKeyRef, volumes). */
export function configMapReferences(value: Json): string[] {
  if (Array.isArray(value)) return value.flatMap(configMapReferences);
  if (!isObject(value)) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const here = (key === 'configMapRef' || key === 'configMapKeyRef' || key === 'configMap') && isObject(child) && typeof child['name'] === 'string' ? [child['name']] : [];
    return [...here, ...configMapReferences(child)];
  });
}
