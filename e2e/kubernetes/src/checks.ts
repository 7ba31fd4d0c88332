/**
 * What the Kubernetes schemas cannot check: that the objects of docker/kubernetes fit each
 * other, the apps and the README. Every check returns each problem found, one line each;
 * an empty list means the bundle fits.
 */
import type { IContainer, IProbe } from 'kubernetes-models/v1';
import { DRAIN_SECONDS, IMAGE_UID, PROBE_PATH_OF, PROBE_PATHS, configurationProblem, type Role } from './contract';
import type { Bundle } from './manifests';
import { appPort, containerPortOf, environment, podUrls, roleOf, selects, serviceNamed, values, view, type PodSpecView } from './pods';
import { validateObjects, type Objects } from './schema';

export interface Facts {
  /** Every file in the bundle's folder. */
  readonly files: readonly string[];
  /** Repository-relative path of each app build output -> its project. */
  readonly buildOutputs: ReadonlyMap<string, string>;
  /** The variables each role's configuration parser reads. */
  readonly variablesRead: ReadonlyMap<Role, ReadonlySet<string>>;
  /** `name/key` of the Secret the README tells users to create -> a value to check with. */
  readonly secrets: ReadonlyMap<string, string>;
}

export interface Pods {
  readonly leader: PodSpecView;
  readonly follower: PodSpecView;
}

export function checkKustomization(bundle: Bundle, facts: Facts): string[] {
  const problems: string[] = [];
  const k = bundle.kustomization;
  const known = ['apiVersion', 'kind', 'namespace', 'resources', 'images', 'configMapGenerator'];
  for (const key of k.keys) if (!known.includes(key)) problems.push(`kustomization.yaml: ${key} is not understood by these checks`);
  if (k.namespace === null) problems.push('kustomization.yaml sets no namespace');
  for (const file of facts.files) {
    if (file !== 'kustomization.yaml' && !k.resources.includes(file)) problems.push(`kustomization.yaml does not list ${file}`);
  }
  for (const file of k.resources) if (!facts.files.includes(file)) problems.push(`kustomization.yaml lists ${file}, which does not exist`);
  return problems;
}

/** The leader's and the follower's StatefulSet, told apart by the build they run. */
export function findPods(objects: Objects, facts: Facts): Pods | string[] {
  const byRole = new Map<Role, PodSpecView[]>();
  const problems: string[] = [];
  for (const set of objects.statefulSets) {
    const pod = view(set);
    const role = roleOf(pod.container, facts.buildOutputs);
    if (role === null) problems.push(`StatefulSet ${pod.name} runs ${JSON.stringify(pod.container.command)}, not \`node <a leader or follower build>\``);
    else byRole.set(role, [...(byRole.get(role) ?? []), pod]);
  }
  const leaders = byRole.get('leader') ?? [];
  const followers = byRole.get('follower') ?? [];
  if (leaders.length !== 1) problems.push(`${leaders.length} StatefulSets run the leader, not 1`);
  if (followers.length !== 1) problems.push(`${followers.length} StatefulSets run the follower, not 1`);
  if (problems.length > 0) return problems;
  return { leader: leaders[0], follower: followers[0] };
}

function checkProbe(at: string, kind: keyof typeof PROBE_PATH_OF, probe: IProbe | undefined, container: IContainer, port: number): string[] {
  if (probe === undefined) return [`${at} has no ${kind}`];
  const get = probe.httpGet;
  if (get === undefined) return [`${at}: ${kind} is not an HTTP GET`];
  const problems: string[] = [];
  const path = get.path ?? '/';
  if (!(PROBE_PATHS as readonly string[]).includes(path)) problems.push(`${at}: ${kind} GET ${path} is not a probe path of the contract (${PROBE_PATHS.join(', ')})`);
  else if (path !== PROBE_PATH_OF[kind]) problems.push(`${at}: ${kind} GET ${path}, not ${PROBE_PATH_OF[kind]}`);
  const target = containerPortOf(container, get.port);
  if (target === undefined) problems.push(`${at}: ${kind} port ${get.port} is not a port of the container`);
  else if (target.containerPort !== port) problems.push(`${at}: ${kind} port ${get.port} is ${target.containerPort}, but the app listens on ${port}`);
  return problems;
}

/** One StatefulSet on its own: selector, governing Service, volume, security, probes, environment. */
export function checkPod(pod: PodSpecView, role: Role, objects: Objects, facts: Facts): string[] {
  const at = `StatefulSet ${pod.name}`;
  const problems: string[] = [];
  const spec = pod.set.spec;
  const podSpec = spec?.template.spec;
  const c = pod.container;
  if (!selects(spec?.selector.matchLabels, pod.labels)) problems.push(`${at}: its selector does not match its pod template's labels`);
  if (spec?.selector.matchExpressions !== undefined) problems.push(`${at}: matchExpressions are not checked here; use matchLabels`);
  const governing = serviceNamed(objects, spec?.serviceName);
  if (governing === undefined) problems.push(`${at}: serviceName ${spec?.serviceName} is not a Service of the bundle`);
  else {
    if (governing.spec?.clusterIP !== 'None') problems.push(`${at}: its Service ${spec?.serviceName} is not headless (clusterIP: None)`);
    if (governing.spec?.publishNotReadyAddresses !== true) problems.push(`${at}: its Service ${spec?.serviceName} does not publish not-ready pods`);
    if (!selects(governing.spec?.selector, pod.labels)) problems.push(`${at}: its Service ${spec?.serviceName} does not select its pods`);
  }

  const podName = `${pod.name}-0`;
  const env = environment(c, podName, objects, facts.secrets);
  const read = facts.variablesRead.get(role) ?? new Set<string>();
  for (const [name, v] of env) {
    if ('problem' in v) problems.push(`${at}: ${name}: ${v.problem}`);
    else if (!read.has(name)) problems.push(`${at} sets ${name} (${v.from}), which the ${role} never reads`);
  }
  const refused = configurationProblem(role, values(env));
  if (refused !== null) problems.push(`${at}: the ${role} refuses its environment: ${refused}`);
  if (!env.has('CLUSTER_TOKEN')) problems.push(`${at} sets no CLUSTER_TOKEN`);
  const fsync = env.get('FSYNC');
  if (fsync === undefined || !('value' in fsync) || fsync.value !== 'always') problems.push(`${at}: FSYNC is not always`);
  const nodeName = c.env?.find((e) => e.name === 'NODE_NAME');
  if (nodeName?.valueFrom?.fieldRef?.fieldPath !== 'metadata.name') problems.push(`${at}: NODE_NAME is not the pod name`);

  const dataDir = env.get('DATA_DIR');
  const claims = (spec?.volumeClaimTemplates ?? []).map((t) => t.metadata?.name);
  const mount = c.volumeMounts?.find((m) => dataDir !== undefined && 'value' in dataDir && m.mountPath === dataDir.value);
  if (mount === undefined || !claims.includes(mount.name)) problems.push(`${at}: DATA_DIR is not on a volume from its volumeClaimTemplates`);
  else if (mount.readOnly === true) problems.push(`${at}: DATA_DIR is mounted read-only`);

  const port = appPort(env);
  const http = containerPortOf(c, port);
  if (http === undefined) problems.push(`${at}: the container does not declare port ${port}, where the app listens`);
  for (const kind of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) problems.push(...checkProbe(at, kind, c[kind], c, port));

  const sc = c.securityContext;
  const psc = podSpec?.securityContext;
  if ((sc?.runAsNonRoot ?? psc?.runAsNonRoot) !== true) problems.push(`${at} does not set runAsNonRoot`);
  if ((sc?.runAsUser ?? psc?.runAsUser) !== IMAGE_UID) problems.push(`${at} does not run as the image's node user (uid ${IMAGE_UID})`);
  if (psc?.fsGroup !== IMAGE_UID) problems.push(`${at}: fsGroup is not ${IMAGE_UID}, so its volume may not be writable`);
  if (sc?.readOnlyRootFilesystem !== true) problems.push(`${at}: the root filesystem is not read-only`);
  if (sc?.allowPrivilegeEscalation !== false) problems.push(`${at} allows privilege escalation`);
  if (!(sc?.capabilities?.drop ?? []).includes('ALL')) problems.push(`${at} does not drop ALL capabilities`);
  for (const bound of ['requests', 'limits'] as const) {
    for (const resource of ['cpu', 'memory']) {
      if (c.resources?.[bound]?.[resource] === undefined) problems.push(`${at}: no ${resource} in resources.${bound}`);
    }
  }
  const timeout = Number(values(env)['REPLICATION_TIMEOUT_MS'] ?? 5000) / 1000;
  const grace = podSpec?.terminationGracePeriodSeconds ?? 30;
  if (grace < Math.max(DRAIN_SECONDS, timeout)) problems.push(`${at}: terminationGracePeriodSeconds ${grace} does not cover in-flight requests`);
  return problems;
}

/** The two StatefulSets together: FOLLOWERS, LEADER_URL, the PDB, the Services, anti-affinity. */
export function checkCluster(pods: Pods, objects: Objects, facts: Facts, namespace: string | null): string[] {
  const problems: string[] = [];
  const { leader, follower } = pods;
  if (leader.replicas !== 1) problems.push(`the leader has ${leader.replicas} replicas, not 1`);
  const leaderEnv = values(environment(leader.container, `${leader.name}-0`, objects, facts.secrets));
  const followerEnv = environment(follower.container, `${follower.name}-0`, objects, facts.secrets);
  const port = appPort(followerEnv);

  const listed = (leaderEnv['FOLLOWERS'] ?? '').split(',').map((u) => u.trim()).filter((u) => u !== '');
  const short = podUrls(follower.set, port);
  const fqdn = short.map((u) => u.replace(/:(\d+)$/, `.${namespace}.svc.cluster.local:$1`));
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((u, i) => u === b[i]);
  if (!same(listed, short) && !(namespace !== null && same(listed, fqdn))) {
    problems.push(`the leader's FOLLOWERS (${listed.join(',')}) does not name the ${follower.replicas} follower pods: ${short.join(',')}`);
  }
  const quorum = Number(leaderEnv['WRITE_QUORUM'] ?? 3);

  const leaderUrl = values(followerEnv)['LEADER_URL'];
  const target = leaderUrl === undefined ? null : /^http:\/\/([a-z0-9-]+):(\d+)$/.exec(leaderUrl);
  const service = target ? serviceNamed(objects, target[1]) : undefined;
  const servicePort = service?.spec?.ports?.find((p) => p.port === Number(target?.[2]));
  const reachesLeader =
    service !== undefined &&
    selects(service.spec?.selector, leader.labels) &&
    !selects(service.spec?.selector, follower.labels) &&
    servicePort !== undefined &&
    containerPortOf(leader.container, servicePort.targetPort ?? servicePort.port)?.containerPort === appPort(environment(leader.container, '', objects, facts.secrets));
  if (!reachesLeader) problems.push(`the followers' LEADER_URL ${leaderUrl ?? '(unset)'} is not a Service port that reaches the leader`);

  const budgets = objects.budgets.filter((b) => selects(b.spec?.selector?.matchLabels, follower.labels));
  if (budgets.length !== 1) problems.push(`${budgets.length} PodDisruptionBudgets select the followers, not 1`);
  for (const b of objects.budgets) {
    const at = `PodDisruptionBudget ${b.metadata?.name}`;
    if (!selects(b.spec?.selector?.matchLabels, follower.labels)) problems.push(`${at}: its selector does not match the followers`);
    if (selects(b.spec?.selector?.matchLabels, leader.labels)) problems.push(`${at}: its selector matches the leader too`);
    if (b.spec?.minAvailable !== quorum) problems.push(`${at}: minAvailable ${b.spec?.minAvailable} is not WRITE_QUORUM ${quorum}`);
    if (quorum > follower.replicas) problems.push(`${at}: WRITE_QUORUM ${quorum} exceeds the ${follower.replicas} followers`);
  }

  for (const s of objects.services) {
    const at = `Service ${s.metadata?.name}`;
    const selected = [leader, follower].filter((p) => selects(s.spec?.selector, p.labels));
    if (selected.length === 0) problems.push(`${at} selects no pod`);
    for (const p of s.spec?.ports ?? []) {
      for (const pod of selected) {
        if (containerPortOf(pod.container, p.targetPort ?? p.port) === undefined) problems.push(`${at}: targetPort ${p.targetPort ?? p.port} is not a port of ${pod.name}`);
      }
    }
  }
  const write = objects.services.filter((s) => s.spec?.clusterIP !== 'None' && selects(s.spec?.selector, leader.labels) && !selects(s.spec?.selector, follower.labels));
  const read = objects.services.filter((s) => s.spec?.clusterIP !== 'None' && selects(s.spec?.selector, leader.labels) && selects(s.spec?.selector, follower.labels));
  if (write.length !== 1) problems.push(`${write.length} client Services reach the leader alone (writes), not 1`);
  if (read.length !== 1) problems.push(`${read.length} client Services reach every node (reads), not 1`);

  const spread = follower.set.spec?.template.spec?.affinity?.podAntiAffinity;
  if (spread?.requiredDuringSchedulingIgnoredDuringExecution !== undefined) problems.push('the followers require anti-affinity: a one-node cluster could not schedule them');
  const term = spread?.preferredDuringSchedulingIgnoredDuringExecution?.find((t) => t.podAffinityTerm.topologyKey === 'kubernetes.io/hostname');
  if (term === undefined || !selects(term.podAffinityTerm.labelSelector?.matchLabels, follower.labels)) problems.push('the followers prefer no spreading over nodes (podAntiAffinity on kubernetes.io/hostname)');
  return problems;
}

/** Every check on one bundle. */
export function checkBundle(bundle: Bundle, facts: Facts): string[] {
  const { objects, problems } = validateObjects(bundle.manifests);
  problems.push(...checkKustomization(bundle, facts));
  const images = new Set(bundle.kustomization.images.map((i) => i.name));
  for (const set of objects.statefulSets) {
    const image = view(set).container.image ?? '';
    if (!images.has(image)) problems.push(`StatefulSet ${set.metadata?.name}: image ${image} has no images: entry in kustomization.yaml`);
  }
  for (const i of bundle.kustomization.images) if (!i.newTag) problems.push(`kustomization.yaml: image ${i.name} has no newTag`);
  const pods = findPods(objects, facts);
  if (Array.isArray(pods)) return [...problems, ...pods];
  problems.push(...checkPod(pods.leader, 'leader', objects, facts), ...checkPod(pods.follower, 'follower', objects, facts));
  problems.push(...checkCluster(pods, objects, facts, bundle.kustomization.namespace));
  return problems;
}
