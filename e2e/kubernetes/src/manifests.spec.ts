/**
 * docker/kubernetes checked without a cluster: every object against the Kubernetes 1.36
 * API schemas (kubernetes-models), then what the schemas cannot see (checks.ts), then the
 * same checks fed broken copies to show that each catches its mistake.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { StatefulSet, type IStatefulSet } from 'kubernetes-models/apps/v1';
import { checkBundle, type Facts } from './checks';
import { PROBE_PATHS, appServesProbe, readmeSecret, variablesRead } from './contract';
import { isObject, loadBundle, readFiles, type Files } from './manifests';
import { configMapReferences, onPath, render, unrendered } from './kustomize';
import { environment, values, view } from './pods';
import { validateObjects } from './schema';
import { bundleDir, buildOutputs, filesIn, repoRoot } from './workspace';

const names = filesIn(bundleDir);
const files: Files = readFiles(bundleDir, names);
const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
const secret = readmeSecret(readme);
const facts: Facts = {
  files: names,
  buildOutputs: buildOutputs(repoRoot),
  variablesRead: new Map([
    ['leader', variablesRead('leader')],
    ['follower', variablesRead('follower')],
  ]),
  secrets: new Map(secret ? [[`${secret.name}/${secret.key}`, 'a-test-token']] : []),
};

/** `files` with `from` replaced in `file`; fails when `from` is not there, so a mutation cannot silently miss. */
function broken(file: string, from: string, to: string): Files {
  const text = files[file];
  if (text === undefined || !text.includes(from)) throw new Error(`${JSON.stringify(from)} is not in ${file}`);
  return { ...files, [file]: text.split(from).join(to) };
}

function problemsOf(changed: Files, listing: readonly string[] = names): string[] {
  return checkBundle(loadBundle(bundleDir, changed), { ...facts, files: listing });
}

describe('the contract the checks rely on', () => {
  it('reads the variables of each role from the config parsers of @kv/node-kit', () => {
    const leader = facts.variablesRead.get('leader');
    const follower = facts.variablesRead.get('follower');
    expect([...(leader ?? [])]).toEqual(expect.arrayContaining(['PORT', 'FOLLOWERS', 'WRITE_QUORUM', 'CLUSTER_TOKEN', 'DATA_DIR', 'FSYNC']));
    expect([...(follower ?? [])]).toEqual(expect.arrayContaining(['PORT', 'LEADER_URL', 'CLUSTER_TOKEN', 'DATA_DIR']));
    expect(follower?.has('FOLLOWERS')).toBe(false);
  });

  it('lists the probe paths of API.md', () => {
    expect([...PROBE_PATHS]).toEqual(['/livez', '/readyz']);
    for (const path of PROBE_PATHS) expect(appServesProbe(path)).toBe(true);
  });

  it('finds the Secret the README tells users to create', () => {
    expect(secret).toEqual({ name: 'kv-cluster-token', key: 'CLUSTER_TOKEN' });
  });
});

describe('docker/kubernetes', () => {
  const bundle = loadBundle(bundleDir, files);

  it('parses: every file is YAML without duplicate keys', () => {
    expect(bundle.manifests.map((m) => `${m.object['kind']}`).sort()).toEqual([
      'ConfigMap', 'ConfigMap', 'ConfigMap', 'PodDisruptionBudget', 'Service', 'Service', 'Service', 'Service', 'StatefulSet', 'StatefulSet',
    ]);
  });

  it('is valid for the Kubernetes 1.36 API schemas', () => {
    expect(validateObjects(bundle.manifests).problems).toEqual([]);
  });

  it('fits together, the apps and the README', () => {
    expect(checkBundle(bundle, facts)).toEqual([]);
  });

  it('runs one leader and five followers, the leader following exactly the five by their stable names', () => {
    const { objects } = validateObjects(bundle.manifests);
    const [leader, follower] = ['kv-leader', 'kv-follower'].map((n) => view(objects.statefulSets.find((s) => s.metadata?.name === n) ?? objects.statefulSets[0]));
    expect([leader.replicas, follower.replicas]).toEqual([1, 5]);
    const env = values(environment(leader.container, 'kv-leader-0', objects, facts.secrets));
    expect(env['FOLLOWERS']?.split(',')).toEqual([0, 1, 2, 3, 4].map((i) => `http://kv-follower-${i}.kv-follower:8000`));
    expect(env).toMatchObject({ WRITE_QUORUM: '3', MIN_DELAY_MS: '50', MAX_DELAY_MS: '800', REPLICATION_TIMEOUT_MS: '5000', LOG_LEVEL: 'info', FSYNC: 'always', DATA_DIR: '/data', NODE_NAME: 'kv-leader-0', CLUSTER_TOKEN: 'a-test-token' });
  });

  it('commits no Secret: the token comes from the one users create', () => {
    expect(bundle.manifests.some((m) => m.object['kind'] === 'Secret')).toBe(false);
    expect(Object.values(files).join('\n')).not.toMatch(/secretGenerator/);
  });
});

const kubectl = onPath('kubectl');
if (!kubectl) console.warn('kubectl is not on PATH: the `kubectl kustomize` comparison is skipped');
const withKubectl = kubectl ? it : it.skip;

describe('docker/kubernetes as kubectl renders it', () => {
  withKubectl(`renders to what these checks read, in namespace kv with the tagged image${kubectl ? '' : ' [SKIPPED: kubectl is not on PATH]'}`, () => {
    const bundle = loadBundle(bundleDir, files);
    const rendered = render(kubectl ?? 'kubectl', bundleDir);
    for (const o of rendered) expect(isObject(o['metadata']) ? o['metadata']['namespace'] : undefined).toBe('kv');
    const images = new Map(bundle.kustomization.images.map((i) => [`${i.newName ?? i.name}:${i.newTag}`, i.name]));
    expect([...images.keys()]).toEqual(['kv-replicated:0.1.0']);
    const byKindAndName = (a: { [key: string]: unknown }, b: { [key: string]: unknown }) => JSON.stringify([a['kind'], a['metadata']]).localeCompare(JSON.stringify([b['kind'], b['metadata']]));
    const generated = bundle.kustomization.configMapGenerator.map((g) => g.name);
    expect(unrendered(rendered, generated, images).sort(byKindAndName)).toEqual(bundle.manifests.map((m) => m.object).sort(byKindAndName));
    // kustomize rewrote every reference to a generated ConfigMap to its hashed name.
    const renderedConfigMaps = rendered.filter((o) => o['kind'] === 'ConfigMap').map((o) => (isObject(o['metadata']) ? o['metadata']['name'] : null));
    const references = rendered.flatMap(configMapReferences);
    expect(references.length).toBeGreaterThan(0);
    for (const name of references) expect(renderedConfigMaps).toContain(name);
    // And the rendered objects pass every check on their own.
    expect(checkBundle({ ...bundle, manifests: unrendered(rendered, generated, images).map((object) => ({ file: 'kubectl kustomize', object })) }, facts)).toEqual([]);
  });
});

describe('the checks catch broken manifests', () => {
  it('needs its own unknown-field check: kubernetes-models validators accept a typo', () => {
    const statefulSet = loadBundle(bundleDir, broken('leader.yaml', 'readinessProbe:', 'readinesProbe:')).manifests.find((m) => m.object['kind'] === 'StatefulSet');
    expect(statefulSet).toBeDefined();
    expect(() => new StatefulSet(statefulSet?.object as unknown as IStatefulSet).validate()).not.toThrow();
  });

  it.each<[string, () => Files, RegExp]>([
    ['a selector that misses its pods', () => broken('followers.yaml', 'matchLabels:\n      app.kubernetes.io/name: kv-replicated\n      app.kubernetes.io/component: follower', 'matchLabels:\n      app.kubernetes.io/name: kv-replicated\n      app.kubernetes.io/component: folower'), /^StatefulSet kv-follower: its selector does not match its pod template's labels$/],
    ['a typo in an environment variable', () => broken('kustomization.yaml', '- WRITE_QUORUM=3', '- WRITE_QUOROM=3'), /^StatefulSet kv-leader sets WRITE_QUOROM \(ConfigMap kv-leader\), which the leader never reads$/],
    ['a probe on a wrong port', () => broken('leader.yaml', 'path: /readyz\n              port: http', 'path: /readyz\n              port: 8080'), /^StatefulSet kv-leader: readinessProbe port 8080 is not a port of the container$/],
    ['a container port that is not PORT', () => broken('followers.yaml', 'containerPort: 8000', 'containerPort: 8080'), /^StatefulSet kv-follower: livenessProbe port http is 8080, but the app listens on 8000$/],
    ['a probe path the contract does not list', () => broken('leader.yaml', 'path: /livez', 'path: /healthz'), /^StatefulSet kv-leader: livenessProbe GET \/healthz is not a probe path of the contract/],
    ['a sixth follower FOLLOWERS does not name', () => broken('followers.yaml', 'replicas: 5', 'replicas: 6'), /^the leader's FOLLOWERS .* does not name the 6 follower pods/],
    ['a PDB that is not WRITE_QUORUM', () => broken('pdb.yaml', 'minAvailable: 3', 'minAvailable: 2'), /^PodDisruptionBudget kv-follower: minAvailable 2 is not WRITE_QUORUM 3$/],
    ['a PDB selecting the leader', () => broken('pdb.yaml', 'component: follower', 'component: leader'), /^PodDisruptionBudget kv-follower: its selector does not match the followers$/],
    ['a serviceName that is no Service', () => broken('leader.yaml', 'serviceName: kv-leader', 'serviceName: kv-leaders'), /^StatefulSet kv-leader: serviceName kv-leaders is not a Service/],
    ['a Secret key users do not create', () => broken('followers.yaml', 'key: CLUSTER_TOKEN', 'key: token'), /^StatefulSet kv-follower: CLUSTER_TOKEN: Secret kv-cluster-token key token is not the one users create$/],
    ['a ConfigMap nobody generates', () => broken('followers.yaml', 'name: kv-common', 'name: kv-settings'), /^StatefulSet kv-follower: \(envFrom kv-settings\): envFrom names ConfigMap kv-settings/],
    ['a leader setting on the followers', () => broken('kustomization.yaml', '- LEADER_URL=http://kv-write:8000', '- LEADER_URL=http://kv-write:8000\n      - WRITE_QUORUM=3'), /^StatefulSet kv-follower sets WRITE_QUORUM .*which the follower never reads$/],
    ['a configuration the app refuses', () => broken('kustomization.yaml', '- WRITE_QUORUM=3', '- WRITE_QUORUM=6'), /^StatefulSet kv-leader: the leader refuses its environment: .*WRITE_QUORUM/],
    ['LEADER_URL not reaching the leader', () => broken('kustomization.yaml', 'LEADER_URL=http://kv-write:8000', 'LEADER_URL=http://kv-read:8000'), /^the followers' LEADER_URL http:\/\/kv-read:8000 is not a Service port that reaches the leader$/],
    ['a writable root filesystem', () => broken('leader.yaml', 'readOnlyRootFilesystem: true', 'readOnlyRootFilesystem: false'), /^StatefulSet kv-leader: the root filesystem is not read-only$/],
    ['required anti-affinity', () => broken('followers.yaml', 'preferredDuringSchedulingIgnoredDuringExecution:\n            - weight: 100\n              podAffinityTerm:', 'requiredDuringSchedulingIgnoredDuringExecution:\n            - '), /^the followers require anti-affinity/],
    ['a schema violation', () => broken('services.yaml', 'port: 8000', 'port: eight'), /^Service kv-leader \(services.yaml\): data\/spec\/ports\/0\/port must be integer/],
    ['a typo in an optional field, which the schemas let through', () => broken('leader.yaml', 'readinessProbe:', 'readinesProbe:'), /^StatefulSet kv-leader \(leader.yaml\): \.spec\.template\.spec\.containers\[0\]\.readinesProbe is not a field of IContainer$/],
    ['an unknown field in a Service', () => broken('services.yaml', 'publishNotReadyAddresses: true', 'publishNotReadyAdresses: true'), /^Service kv-leader \(services.yaml\): \.spec\.publishNotReadyAdresses is not a field/],
    ['an unknown field deep in a pod template', () => broken('followers.yaml', 'drop: ["ALL"]', 'dorp: ["ALL"]'), /^StatefulSet kv-follower \(followers.yaml\): \.spec\.template\.spec\.containers\[0\]\.securityContext\.capabilities\.dorp is not a field/],
    ['an unknown field in a claim template', () => broken('leader.yaml', 'accessModes: ["ReadWriteOnce"]', 'accessMode: ["ReadWriteOnce"]'), /^StatefulSet kv-leader \(leader.yaml\): \.spec\.volumeClaimTemplates\[0\]\.spec\.accessMode is not a field/],
    ['a duplicate key', () => broken('pdb.yaml', 'minAvailable: 3', 'minAvailable: 3\n  minAvailable: 4'), /./],
  ])('%s', (_what, change, problem) => {
    let problems: string[];
    try {
      problems = problemsOf(change());
    } catch (err) {
      problems = [err instanceof Error ? err.message : String(err)];
    }
    expect(problems).toContainEqual(expect.stringMatching(problem));
  });

  it('a file the kustomization does not list', () => {
    expect(problemsOf(files, [...names, 'namespace.yaml'])).toContain('kustomization.yaml does not list namespace.yaml');
  });
});
