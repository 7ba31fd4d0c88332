/**
 * What each pod of the bundle runs: its role, command, port and exact environment, with
 * ConfigMap and Secret references resolved. Shared by the structural checks and the
 * "pods as processes" e2e.
 */
import type { IContainer, IContainerPort, IService } from 'kubernetes-models/v1';
import type { IStatefulSet } from 'kubernetes-models/apps/v1';
import { DEFAULT_PORT, type Role } from './contract';
import type { Objects } from './schema';

/** One variable as the kubelet would set it, or why it could not. */
export type EnvValue = { readonly value: string; readonly from: string } | { readonly problem: string };

export interface PodSpecView {
  readonly set: IStatefulSet;
  readonly name: string;
  readonly replicas: number;
  readonly container: IContainer;
  readonly labels: Readonly<Record<string, string>>;
}

export function statefulSetName(set: IStatefulSet): string {
  return set.metadata?.name ?? '(unnamed)';
}

/** The one container of a StatefulSet's pods (these pods have exactly one). */
export function view(set: IStatefulSet): PodSpecView {
  const containers = set.spec?.template.spec?.containers ?? [];
  if (containers.length !== 1) throw new Error(`StatefulSet ${statefulSetName(set)} has ${containers.length} containers, not 1`);
  return { set, name: statefulSetName(set), replicas: set.spec?.replicas ?? 1, container: containers[0], labels: set.spec?.template.metadata?.labels ?? {} };
}

/** The role whose build the command runs: `node dist/apps/<role>/main.js`, else null. */
export function roleOf(container: IContainer, buildOutputs: ReadonlyMap<string, string>): Role | null {
  const argv = container.command ?? [];
  if (argv.length !== 2 || argv[0] !== 'node') return null;
  const project = buildOutputs.get(argv[1]);
  return project === 'leader' || project === 'follower' ? project : null;
}

/**
 * The environment of pod `podName`: envFrom ConfigMaps in order, then env (which wins),
 * as the kubelet builds it. `secrets` supplies Secret values (name/key), absent in the
 * bundle because users create the Secret.
 */
export function environment(container: IContainer, podName: string, objects: Objects, secrets: ReadonlyMap<string, string>): Map<string, EnvValue> {
  const env = new Map<string, EnvValue>();
  const configMap = (name: string) => objects.configMaps.find((c) => c.metadata?.name === name);
  for (const source of container.envFrom ?? []) {
    if (source.secretRef) env.set(`(envFrom secret ${source.secretRef.name})`, { problem: 'envFrom a Secret sets variables nobody lists here' });
    const name = source.configMapRef?.name;
    if (name === undefined) continue;
    const data = configMap(name)?.data;
    if (data === undefined) {
      env.set(`(envFrom ${name})`, { problem: `envFrom names ConfigMap ${name}, which does not exist` });
      continue;
    }
    for (const [key, value] of Object.entries(data)) env.set(`${source.prefix ?? ''}${key}`, { value, from: `ConfigMap ${name}` });
  }
  for (const e of container.env ?? []) {
    const from = e.valueFrom;
    if (from === undefined) env.set(e.name, { value: e.value ?? '', from: 'env' });
    else if (from.configMapKeyRef) {
      const { name, key } = from.configMapKeyRef;
      const value = configMap(name ?? '')?.data?.[key];
      env.set(e.name, value === undefined ? { problem: `ConfigMap ${name} has no key ${key}` } : { value, from: `ConfigMap ${name}` });
    } else if (from.secretKeyRef) {
      const { name, key } = from.secretKeyRef;
      const value = secrets.get(`${name}/${key}`);
      env.set(e.name, value === undefined ? { problem: `Secret ${name} key ${key} is not the one users create` } : { value, from: `Secret ${name}` });
    } else if (from.fieldRef?.fieldPath === 'metadata.name') env.set(e.name, { value: podName, from: 'the pod name' });
    else env.set(e.name, { problem: 'valueFrom a source these checks do not resolve' });
  }
  return env;
}

/** The values only, for starting a process (problems are the checks' business). */
export function values(env: ReadonlyMap<string, EnvValue>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, v] of env) if ('value' in v) out[name] = v.value;
  return out;
}

/** The port the app listens on: PORT, else its default. */
export function appPort(env: ReadonlyMap<string, EnvValue>): number {
  const port = env.get('PORT');
  return port !== undefined && 'value' in port ? Number(port.value) : DEFAULT_PORT;
}

/** A container port by name or number; undefined when the container has no such port. */
export function containerPortOf(container: IContainer, port: number | string | undefined): IContainerPort | undefined {
  return (container.ports ?? []).find((p) => (typeof port === 'number' ? p.containerPort === port : p.name === port));
}

/** True when `selector` (a Service's or a matchLabels) selects pods with `labels`. */
export function selects(selector: Readonly<Record<string, string>> | undefined, labels: Readonly<Record<string, string>>): boolean {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

export function serviceNamed(objects: Objects, name: string | undefined): IService | undefined {
  return objects.services.find((s) => s.metadata?.name === name);
}

/** The base URL of each pod of `set` by its stable name `pod.service` (namespace-relative). */
export function podUrls(set: IStatefulSet, port: number): string[] {
  const replicas = set.spec?.replicas ?? 1;
  return Array.from({ length: replicas }, (_, i) => `http://${statefulSetName(set)}-${i}.${set.spec?.serviceName}:${port}`);
}
