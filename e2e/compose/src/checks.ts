/**
 * What docker/Dockerfile and docker/docker-compose.yml must agree on with the workspace,
 * checked statically. Each check returns every problem found, one line each; an empty list
 * means the files fit.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ComposeFile, ComposeService } from './compose-file';
import { copies, imageConfig, runs, type ImageConfig, type Stage } from './dockerfile';

/** The apps listen here when PORT is unset (API.md, Configuration). */
export const DEFAULT_PORT = 8000;
/** The published host ports the README documents: the leader's, then one per follower. */
export const LEADER_HOST_PORT = 8000;

export interface Facts {
  readonly repoRoot: string;
  /** The directory of the compose file: `build.context` is relative to it. */
  readonly composeDir: string;
  /** The Dockerfile every service must be built from, relative to the repository root. */
  readonly dockerfile: string;
  /** Repository-relative path of each file the build produces -> its project. */
  readonly buildOutputs: ReadonlyMap<string, string>;
  /** Project -> every environment variable its process was seen to read. */
  readonly envRead: ReadonlyMap<string, ReadonlySet<string>>;
}

export interface Start {
  readonly project: string;
  /** The script, relative to the repository root. */
  readonly repoPath: string;
}

function finalStage(stages: readonly Stage[]): Stage {
  const final = stages.at(-1);
  if (!final) throw new Error('the Dockerfile has no stage');
  return final;
}

function stageNamed(stages: readonly Stage[], ref: string | null): Stage | undefined {
  if (ref === null) return undefined;
  return stages.find((s) => s.name === ref) ?? (/^\d+$/.test(ref) ? stages[Number(ref)] : undefined);
}

/**
 * What `argv` starts in the final image: the build output it runs, traced through the
 * COPY --from that brought it into the image, or why it is not one.
 */
export function resolveStart(argv: readonly string[], stages: readonly Stage[], facts: Facts): Start | string {
  const shown = JSON.stringify(argv);
  if (argv.length !== 2 || argv[0] !== 'node') return `${shown}, not \`node <script>\``;
  const final = finalStage(stages);
  const target = path.posix.resolve(imageConfig(final).workdir, argv[1]);
  const copy = copies(final).find((c) => c.from !== null && (target === c.dest || target.startsWith(`${c.dest}/`)));
  if (!copy || copy.sources.length !== 1) return `${shown}: ${target} is not copied into the image from a build stage`;
  const from = stageNamed(stages, copy.from);
  if (!from) return `${shown}: COPY --from=${copy.from} names no stage`;
  // Where that stage put the repository (its `COPY . <dir>`).
  const checkout = copies(from).find((c) => c.from === null && c.sources.includes('/'))?.dest;
  if (checkout === undefined) return `${shown}: stage ${copy.from} does not copy the repository`;
  const repoPath = path.posix.relative(checkout, copy.sources[0] + target.slice(copy.dest.length));
  const project = facts.buildOutputs.get(repoPath);
  if (project === undefined) {
    return `${shown}: ${repoPath} is not a file the build produces (it produces ${[...facts.buildOutputs.keys()].join(', ')})`;
  }
  const builds = runs(from).some((r) => /\bnx\b/.test(r) && /\bbuild\b/.test(r) && new RegExp(`\\b${project}\\b`).test(r));
  if (!builds) return `${shown}: stage ${copy.from} never runs the Nx build of ${project}`;
  if (!existsSync(path.join(facts.repoRoot, repoPath))) return `${shown}: ${repoPath} is missing; build ${project} first`;
  return { project, repoPath };
}

export function checkImage(stages: readonly Stage[], facts: Facts): string[] {
  const problems: string[] = [];
  if (stages.length < 2) problems.push('the Dockerfile is not a multi-stage build');
  for (const stage of stages) {
    if (!stageNamed(stages, stage.base) && !/^node:20(\.\d+)*-([a-z]+-)?slim$/.test(stage.base)) {
      problems.push(`FROM ${stage.base} is not an official Node 20 slim image`);
    }
  }
  const final = finalStage(stages);
  const image = imageConfig(final);
  if (image.user === null || /^(root|0)(:|$)/.test(image.user)) problems.push('the final stage runs as root: it needs a USER');
  if (image.entrypoint !== null) problems.push('the image sets an ENTRYPOINT; the base image runs the CMD');
  if (image.cmd === null) problems.push('the image has no CMD');
  else {
    const start = resolveStart(image.cmd, stages, facts);
    if (typeof start === 'string') problems.push(`CMD ${start}`);
  }
  const nodeModules = copies(final).find((c) => c.dest === path.posix.join(image.workdir, 'node_modules'));
  const depsStage = nodeModules ? stageNamed(stages, nodeModules.from) : final;
  const installs = depsStage ? runs(depsStage).filter((r) => /\bnpm\s+(ci|install|i)\b/.test(r)) : [];
  if (installs.length === 0 || !installs.every((r) => /--omit=dev\b/.test(r))) {
    problems.push("the final image's node_modules are not production dependencies only (npm ci --omit=dev)");
  }
  if (copies(final).some((c) => c.from === null && c.sources.includes('/'))) problems.push('the final stage copies the whole build context');
  for (const name of Object.keys(image.env)) {
    if (![...facts.envRead.values()].some((read) => read.has(name))) problems.push(`the image sets ${name}, which no app reads`);
  }
  return problems;
}

export function containerPort(service: ComposeService, image: ImageConfig): number {
  return Number(service.environment['PORT'] ?? image.env['PORT'] ?? DEFAULT_PORT);
}

/** The service a URL reaches inside the compose network (host = service name, port = its port), or null. */
export function serviceAt(url: string, file: ComposeFile, image: ImageConfig): ComposeService | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  const port = Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
  const service = file.services.find((s) => s.name === parsed.hostname);
  return service && containerPort(service, image) === port && parsed.pathname === '/' ? service : null;
}

/** The `argv` a service runs: its own command, else the image's. */
export function commandOf(service: ComposeService, stages: readonly Stage[]): readonly string[] {
  return service.command ?? imageConfig(finalStage(stages)).cmd ?? [];
}

export function checkCompose(file: ComposeFile, stages: readonly Stage[], facts: Facts): string[] {
  const problems: string[] = [];
  const final = finalStage(stages);
  const image = imageConfig(final);
  const projects = new Map<string, string>();
  const volumeOwners = new Map<string, string>();

  for (const s of file.services) {
    const at = `service ${s.name}`;
    if (!s.build || path.resolve(facts.composeDir, s.build.context) !== facts.repoRoot || s.build.dockerfile !== facts.dockerfile) {
      problems.push(`${at} is not built from ${facts.dockerfile} with the repository root as context`);
    }
    if (s.entrypoint !== undefined) problems.push(`${at} overrides the entrypoint`);
    if (s.envFile !== undefined) problems.push(`${at} reads an env_file: keep its settings in the compose file`);
    if (s.workingDir !== null && s.workingDir !== image.workdir) problems.push(`${at} changes the working directory`);
    if (s.networkMode !== null) problems.push(`${at} uses network_mode ${s.networkMode}`);

    const start = resolveStart(commandOf(s, stages), stages, facts);
    if (typeof start === 'string') {
      problems.push(`${at} runs ${start}`);
      continue;
    }
    projects.set(s.name, start.project);
    const read = facts.envRead.get(start.project) ?? new Set<string>();
    for (const name of Object.keys(s.environment)) {
      if (!read.has(name)) problems.push(`${at} sets ${name}, which the ${start.project} never reads`);
    }
    if (s.environment['NODE_NAME'] !== s.name) problems.push(`${at}: NODE_NAME should be ${s.name}, so that its log lines name the service`);

    const dataDir = s.environment['DATA_DIR'];
    if (dataDir === undefined) problems.push(`${at} sets no DATA_DIR`);
    else {
      const mount = s.volumes.find((v) => v.target === dataDir);
      if (!mount || mount.type !== 'volume' || mount.source === null || !file.volumes.includes(mount.source)) {
        problems.push(`${at}: DATA_DIR ${dataDir} is not on a named volume declared in the file`);
      } else if (volumeOwners.has(mount.source)) {
        problems.push(`${at} shares volume ${mount.source} with ${volumeOwners.get(mount.source)}`);
      } else volumeOwners.set(mount.source, s.name);
      const writable = runs(final).some((r) => /\bchown\b/.test(r) && r.includes(`${image.user ?? 'root'}:`) && r.split(/\s+/).includes(dataDir));
      if (!writable) problems.push(`${at}: the image does not create ${dataDir} owned by its user ${image.user ?? 'root'}`);
    }

    const port = containerPort(s, image);
    if (s.ports.filter((p) => p.target === port && p.published !== null).length !== 1) problems.push(`${at} does not publish its port ${port} once`);
    const health = s.healthcheck ?? image.healthcheck;
    if (health === null || health === 'NONE' || !health.includes('/health')) problems.push(`${at} has no health check on /health`);
  }

  const leaders = file.services.filter((s) => projects.get(s.name) === 'leader');
  const followers = file.services.filter((s) => projects.get(s.name) === 'follower');
  if (leaders.length !== 1) problems.push(`${leaders.length} services run the leader, not 1`);
  if (followers.length === 0) problems.push('no service runs a follower');
  const leader = leaders.at(0);
  if (leader) {
    const listed: string[] = [];
    for (const url of (leader.environment['FOLLOWERS'] ?? '').split(',').map((u) => u.trim()).filter((u) => u !== '')) {
      const target = serviceAt(url, file, image);
      if (target === null || projects.get(target.name) !== 'follower') problems.push(`the leader's FOLLOWERS lists ${url}, which is not a follower service`);
      else listed.push(target.name);
    }
    const hostPort = (s: ComposeService) => s.ports.find((p) => p.target === containerPort(s, image))?.published ?? null;
    if (hostPort(leader) !== LEADER_HOST_PORT) problems.push(`the leader publishes ${hostPort(leader)}, not ${LEADER_HOST_PORT}`);
    followers.forEach((f, i) => {
      if (!listed.includes(f.name)) problems.push(`follower ${f.name} is not in the leader's FOLLOWERS`);
      const leaderUrl = f.environment['LEADER_URL'];
      if (leaderUrl === undefined || serviceAt(leaderUrl, file, image) !== leader) {
        problems.push(`follower ${f.name}: LEADER_URL ${leaderUrl ?? '(unset)'} is not the leader service`);
      }
      if (leader.dependsOn[f.name] !== 'service_healthy') problems.push(`the leader does not wait for ${f.name} to be healthy`);
      if (hostPort(f) !== LEADER_HOST_PORT + 1 + i) problems.push(`follower ${f.name} publishes ${hostPort(f)}, not ${LEADER_HOST_PORT + 1 + i}`);
    });
  }
  if (!file.networks.some((n) => file.services.every((s) => s.networks.includes(n)))) {
    problems.push('the services share no network declared in the file');
  }
  return problems;
}

/** Rewrites every `http://<service>:<port>` that reaches a service to that service's loopback address. */
export function toLoopback(value: string, addresses: ReadonlyMap<string, string>): string {
  return value.replace(/\bhttps?:\/\/([A-Za-z0-9._-]+):(\d+)/g, (url, host: string, port: string) => addresses.get(`${host}:${port}`) ?? url);
}
