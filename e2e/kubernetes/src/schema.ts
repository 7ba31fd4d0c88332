/**
 * Validation against the Kubernetes API schemas, offline: kubernetes-models compiles the
 * OpenAPI schemas of Kubernetes 1.36 into validators. They check types, required fields and
 * enums, but not unknown fields (a typo'd optional field passes): FieldNames adds that
 * check for the kinds these manifests use.
 */
import path from 'node:path';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { StatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { IConfigMap, IService } from 'kubernetes-models/v1';
import type { IStatefulSet } from 'kubernetes-models/apps/v1';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { JsonObject, Manifest } from './manifests';
import { FieldNames } from './unknown-fields';
import { repoRoot } from './workspace';

let fieldNames: FieldNames | null = null;

/** The declarations are read once per process (about a second). */
function fields(): FieldNames {
  fieldNames ??= new FieldNames(path.join(repoRoot, 'node_modules/kubernetes-models'));
  return fieldNames;
}

/** The objects of the bundle, typed once the schema has accepted them. */
export interface Objects {
  readonly statefulSets: IStatefulSet[];
  readonly services: IService[];
  readonly configMaps: IConfigMap[];
  readonly budgets: IPodDisruptionBudget[];
}

export function describe(m: Manifest): string {
  const meta = m.object['metadata'];
  const name = typeof meta === 'object' && meta !== null && !Array.isArray(meta) ? meta['name'] : undefined;
  return `${String(m.object['kind'])} ${String(name)} (${m.file})`;
}

/** Validates one object; the message of the first schema violation, or null. */
function validateWith(model: { validate(): void }): string | null {
  try {
    model.validate();
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * Validates every object against the schema of its apiVersion and kind and sorts them by
 * kind. The casts are sound: each object has just passed its kind's schema.
 */
export function validateObjects(manifests: readonly Manifest[]): { objects: Objects; problems: string[] } {
  const objects: Objects = { statefulSets: [], services: [], configMaps: [], budgets: [] };
  const problems: string[] = [];
  for (const m of manifests) {
    const o: JsonObject = m.object;
    const type = `${String(o['apiVersion'])}/${String(o['kind'])}`;
    let problem: string | null;
    if (type === 'apps/v1/StatefulSet') {
      problem = validateWith(new StatefulSet(o as unknown as IStatefulSet));
      if (problem === null) objects.statefulSets.push(o as unknown as IStatefulSet);
    } else if (type === 'v1/Service') {
      problem = validateWith(new Service(o as unknown as IService));
      if (problem === null) objects.services.push(o as unknown as IService);
    } else if (type === 'v1/ConfigMap') {
      problem = validateWith(new ConfigMap(o as unknown as IConfigMap));
      if (problem === null) objects.configMaps.push(o as unknown as IConfigMap);
    } else if (type === 'policy/v1/PodDisruptionBudget') {
      problem = validateWith(new PodDisruptionBudget(o as unknown as IPodDisruptionBudget));
      if (problem === null) objects.budgets.push(o as unknown as IPodDisruptionBudget);
    } else {
      problem = `${type} is not a kind these checks know`;
    }
    if (problem !== null) problems.push(`${describe(m)}: ${problem}`);
    for (const unknown of fields().unknownFields(o) ?? []) problems.push(`${describe(m)}: ${unknown}`);
  }
  return { objects, problems };
}
