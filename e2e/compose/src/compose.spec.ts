/**
 * The proof for docker/, on a machine without a Docker engine: the Dockerfile and the
 * compose file are checked against the workspace, then every compose service is started
 * as the local process its container would run — the same command, exactly its
 * environment from the file (as compose interpolates it with an empty shell), with
 * service host names mapped to loopback ports — and the cluster is used through it.
 */
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { NodeProcess, freePort, type Role } from '@kv/local-cluster';
import { isRecord, parseCompose, type ComposeFile, type ComposeService, type ShellEnv } from './compose-file';
import { imageConfig, parseDockerfile, type ImageConfig } from './dockerfile';
import { buildOutputs, readEnvProbe, writeEnvProbe } from './workspace';
import { checkCompose, checkImage, commandOf, containerPort, resolveStart, toLoopback, type Facts } from './checks';

const repoRoot = path.resolve(__dirname, '../../..');
const composePath = path.join(repoRoot, 'docker/docker-compose.yml');
const composeText = readFileSync(composePath, 'utf8');
const dockerfileText = readFileSync(path.join(repoRoot, 'docker/Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfileText);
const image: ImageConfig = imageConfig(stages[stages.length - 1]);
/** The file as `docker compose up` reads it from a shell that sets none of its variables. */
const compose = parseCompose(composeText, {});
const baseFacts: Facts = {
  repoRoot,
  composeDir: path.dirname(composePath),
  dockerfile: 'docker/Dockerfile',
  buildOutputs: buildOutputs(repoRoot),
  envRead: new Map(),
};
/** Set by the environment probe; a process that copied the whole environment would read it. */
const CANARY = 'KV_COMPOSE_E2E_CANARY';

const dockerCompose = onPath('docker-compose');
if (!dockerCompose) console.warn('docker-compose is not on PATH: the `docker-compose config` checks are skipped');

function onPath(binary: string): string | null {
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

function isRole(project: string): project is Role {
  return project === 'leader' || project === 'follower';
}

interface LocalService {
  readonly service: ComposeService;
  readonly role: Role;
  readonly url: string;
  readonly process: NodeProcess;
}

/**
 * Each service as the process its container runs: `node <script>` with the image's ENV and
 * the service's environment, its `http://<service>:<port>` URLs pointing at loopback.
 * Only PORT and HOST (set by NodeProcess: a free port on 127.0.0.1) and DATA_DIR (a
 * directory under `dataRoot`) differ from the container.
 */
async function localServices(file: ComposeFile, dataRoot: string, extraEnv: Record<string, string> = {}): Promise<LocalService[]> {
  const ports: number[] = [];
  while (ports.length < file.services.length) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  const addresses = new Map(file.services.map((s, i) => [`${s.name}:${containerPort(s, image)}`, `http://127.0.0.1:${ports[i]}`]));
  return file.services.map((service, i) => {
    const start = resolveStart(commandOf(service, stages), stages, baseFacts);
    if (typeof start === 'string') throw new Error(`service ${service.name} runs ${start}`);
    if (!isRole(start.project)) throw new Error(`service ${service.name} runs ${start.project}, neither leader nor follower`);
    const env: Record<string, string> = { ...image.env };
    for (const [name, value] of Object.entries(service.environment)) env[name] = toLoopback(value, addresses);
    if (env['DATA_DIR'] !== undefined) {
      env['DATA_DIR'] = path.join(dataRoot, service.name);
      mkdirSync(env['DATA_DIR'], { recursive: true });
    }
    const node = new NodeProcess({
      // NodeProcess sets NODE_NAME to this name: the checks require the file to say the same.
      name: service.name,
      role: start.project,
      script: path.join(repoRoot, start.repoPath),
      host: '127.0.0.1',
      port: ports[i],
      env: { ...env, ...extraEnv },
    });
    return { service, role: start.project, url: `http://127.0.0.1:${ports[i]}`, process: node };
  });
}

async function call(method: string, url: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const parsed: unknown = await res.json();
  if (!isRecord(parsed)) throw new Error(`${method} ${url}: not a JSON object`);
  return { status: res.status, body: parsed };
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const tempDirs: string[] = [];
const started: NodeProcess[] = [];
let facts: Facts = baseFacts;

beforeAll(async () => {
  // Which variables does each app read? Measured on the build itself: every service runs
  // once with a preload that records each process.env read, then exits on SIGTERM.
  const probeDir = mkdtempSync(path.join(tmpdir(), 'compose-e2e-probe-'));
  tempDirs.push(probeDir);
  // A service whose command is no build output is left to the checks to report.
  const startable = compose.services.filter((s) => typeof resolveStart(commandOf(s, stages), stages, baseFacts) !== 'string');
  const services = await localServices({ ...compose, services: startable }, path.join(probeDir, 'data'), { [CANARY]: '1' });
  started.push(...services.map((s) => s.process));
  const probes = services.map((s) => ({ script: path.join(probeDir, `${s.service.name}.cjs`), out: path.join(probeDir, `${s.service.name}.json`) }));
  for (const { script, out } of probes) writeEnvProbe(script, out);
  // A node that refuses its configuration has read it all by then: its probe still counts,
  // and the cluster below reports the failure.
  await Promise.allSettled(services.map((s, i) => s.process.start({ NODE_OPTIONS: `--require ${probes[i].script}` })));
  await Promise.all(services.map((s) => s.process.stop(5000)));
  const envRead = new Map<string, Set<string>>();
  services.forEach((s, i) => {
    const read = envRead.get(s.role) ?? new Set<string>();
    if (existsSync(probes[i].out)) for (const name of readEnvProbe(probes[i].out)) read.add(name);
    envRead.set(s.role, read);
  });
  facts = { ...baseFacts, envRead };
});

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop(5000)));
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** `text` with `from` replaced; fails when `from` is not there, so a mutation cannot silently miss. */
function replaced(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`${JSON.stringify(from)} is not in the file`);
  return text.split(from).join(to);
}

function withService(file: ComposeFile, name: string, change: (s: ComposeService) => Partial<ComposeService>): ComposeFile {
  if (!file.services.some((s) => s.name === name)) throw new Error(`no service ${name}`);
  return { ...file, services: file.services.map((s) => (s.name === name ? { ...s, ...change(s) } : s)) };
}

function service(file: ComposeFile, name: string): ComposeService {
  const found = file.services.find((s) => s.name === name);
  if (!found) throw new Error(`no service ${name}`);
  return found;
}

describe('measuring the variables the apps read', () => {
  it('sees the configuration variables of each role and not a variable nobody reads', () => {
    const leader = facts.envRead.get('leader');
    const follower = facts.envRead.get('follower');
    expect([...(leader ?? [])]).toEqual(expect.arrayContaining(['PORT', 'FOLLOWERS', 'WRITE_QUORUM', 'CLUSTER_TOKEN', 'DATA_DIR']));
    expect([...(follower ?? [])]).toEqual(expect.arrayContaining(['PORT', 'LEADER_URL', 'CLUSTER_TOKEN', 'DATA_DIR']));
    expect(follower?.has('FOLLOWERS')).toBe(false);
    expect(leader?.has(CANARY) || follower?.has(CANARY)).toBe(false);
  });
});

describe('docker/Dockerfile', () => {
  it('is a multi-stage build on Node 20 slim whose runtime runs a build output, as a non-root user, with production dependencies', () => {
    expect(checkImage(stages, facts)).toEqual([]);
    expect(image.user).toBe('node');
  });

  it('starts the leader by default, from the file the leader build writes', () => {
    expect(image.cmd).toEqual(['node', 'dist/apps/leader/main.js']);
    expect(resolveStart(image.cmd ?? [], stages, facts)).toEqual({ project: 'leader', repoPath: 'dist/apps/leader/main.js' });
    expect(existsSync(path.join(repoRoot, 'dist/apps/leader/main.js'))).toBe(true);
  });

  it('has a health check on /health', () => {
    expect(image.healthcheck).toMatch(/\/health/);
  });

  it('keeps node_modules, dist and test output out of the build context', () => {
    const ignored = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const entry of ['node_modules', 'dist', 'reports', 'tmp', 'perf-results', 'coverage', '.nx', '.git']) {
      expect(ignored.some((l) => l === entry || l === `**/${entry}`)).toBe(true);
    }
  });

  it.each([
    ['a CMD path the build does not produce', 'CMD ["node", "dist/apps/leader/main.js"]', 'CMD ["node", "dist/apps/leader/index.js"]', /^CMD .*dist\/apps\/leader\/index\.js is not a file the build produces/],
    ['a root user', 'USER node\n', '', /runs as root/],
    ['dev dependencies in the runtime', 'npm ci --omit=dev', 'npm ci', /production dependencies only/],
    ['a single stage', 'FROM node:20-bookworm-slim AS runtime', 'FROM node:22-bookworm AS runtime', /node:22-bookworm is not an official Node 20 slim/],
  ])('fails on %s', (_what, from, to, problem) => {
    expect(checkImage(parseDockerfile(replaced(dockerfileText, from, to)), facts)).toContainEqual(expect.stringMatching(problem));
  });
});

describe('docker/docker-compose.yml', () => {
  it('passes every check against the Dockerfile, the build and the apps', () => {
    expect(checkCompose(compose, stages, facts)).toEqual([]);
  });

  it('has the leader and five followers, the leader listing each once', () => {
    expect(compose.services.map((s) => s.name)).toEqual(['leader', 'f1', 'f2', 'f3', 'f4', 'f5']);
    expect(service(compose, 'leader').environment['FOLLOWERS']).toBe('http://f1:8000,http://f2:8000,http://f3:8000,http://f4:8000,http://f5:8000');
  });

  it('runs the demonstration settings by default, each overridable from the shell', () => {
    expect(service(compose, 'leader').environment).toMatchObject({ WRITE_QUORUM: '3', MIN_DELAY_MS: '50', MAX_DELAY_MS: '800', CLUSTER_TOKEN: '' });
    const shell: ShellEnv = { WRITE_QUORUM: '5', MIN_DELAY_MS: '0', MAX_DELAY_MS: '0', REPLICATION_TIMEOUT_MS: '900' };
    expect(service(parseCompose(composeText, shell), 'leader').environment).toMatchObject(shell);
  });

  it('gives every service the same CLUSTER_TOKEN from the shell, and none by default', () => {
    for (const s of parseCompose(composeText, { CLUSTER_TOKEN: 's3cret' }).services) expect(s.environment['CLUSTER_TOKEN']).toBe('s3cret');
    for (const s of compose.services) expect(s.environment['CLUSTER_TOKEN']).toBe('');
  });

  const follower5 = (file: ComposeFile) => service(file, 'f5');
  it.each<[string, (file: ComposeFile) => ComposeFile, RegExp]>([
    ['a variable the app does not read', (f) => withService(f, 'leader', (s) => ({ environment: { ...s.environment, WRITE_QUORAM: '3' } })), /^service leader sets WRITE_QUORAM, which the leader never reads$/],
    ['a leader variable on a follower', (f) => withService(f, 'f2', (s) => ({ environment: { ...s.environment, WRITE_QUORUM: '3' } })), /^service f2 sets WRITE_QUORUM, which the follower never reads$/],
    ['a command path the build does not produce', (f) => withService(f, 'f3', () => ({ command: ['node', 'dist/apps/follower/server.js'] })), /^service f3 runs .*dist\/apps\/follower\/server\.js is not a file the build produces/],
    [
      'a follower the leader does not list',
      (f) => withService(f, 'leader', (s) => ({ environment: { ...s.environment, FOLLOWERS: 'http://f1:8000,http://f2:8000,http://f3:8000,http://f4:8000' } })),
      /^follower f5 is not in the leader's FOLLOWERS$/,
    ],
    [
      'a listed follower that is no service',
      (f) => withService(f, 'leader', (s) => ({ environment: { ...s.environment, FOLLOWERS: `${s.environment['FOLLOWERS']},http://f6:8000` } })),
      /^the leader's FOLLOWERS lists http:\/\/f6:8000, which is not a follower service$/,
    ],
    ['a follower service nobody lists', (f) => ({ ...f, services: [...f.services, { ...follower5(f), name: 'f6', environment: { ...follower5(f).environment, NODE_NAME: 'f6' } }] }), /^follower f6 is not in the leader's FOLLOWERS$/],
    ['a wrong port in FOLLOWERS', (f) => withService(f, 'leader', (s) => ({ environment: { ...s.environment, FOLLOWERS: replaced(s.environment['FOLLOWERS'] ?? '', 'f1:8000', 'f1:8001') } })), /^the leader's FOLLOWERS lists http:\/\/f1:8001, which is not/],
    ['LEADER_URL not the leader', (f) => withService(f, 'f1', (s) => ({ environment: { ...s.environment, LEADER_URL: 'http://f2:8000' } })), /^follower f1: LEADER_URL http:\/\/f2:8000 is not the leader service$/],
    ['a leader that does not wait for healthy followers', (f) => withService(f, 'leader', (s) => ({ dependsOn: { ...s.dependsOn, f4: 'service_started' } })), /^the leader does not wait for f4 to be healthy$/],
    ['DATA_DIR without a volume', (f) => withService(f, 'f2', () => ({ volumes: [] })), /^service f2: DATA_DIR \/data is not on a named volume/],
    ['two services on one volume', (f) => withService(f, 'f2', () => ({ volumes: [{ type: 'volume', source: 'f1-data', target: '/data' }] })), /^service f2 shares volume f1-data with f1$/],
    ['a second leader', (f) => withService(f, 'f1', () => ({ command: ['node', 'dist/apps/leader/main.js'] })), /^2 services run the leader, not 1$/],
  ])('fails on %s', (_what, mutate, problem) => {
    expect(checkCompose(mutate(compose), stages, facts)).toContainEqual(expect.stringMatching(problem));
  });

  it('fails when the image does not build the follower the services run', () => {
    const leaderOnly = parseDockerfile(replaced(dockerfileText, '--projects=leader,follower', '--projects=leader'));
    expect(checkCompose(compose, leaderOnly, facts)).toContainEqual(expect.stringMatching(/^service f1 runs .*never runs the Nx build of follower$/));
  });

  function dockerComposeConfig(shell: Record<string, string>, ...args: string[]) {
    // An empty --env-file: a developer's docker/.env must not change what is checked.
    const emptyEnvFile = path.join(mkdtempSync(path.join(tmpdir(), 'compose-e2e-env-')), 'empty.env');
    tempDirs.push(path.dirname(emptyEnvFile));
    writeFileSync(emptyEnvFile, '');
    return spawnSync(dockerCompose ?? 'docker-compose', ['--env-file', emptyEnvFile, '-f', composePath, 'config', ...args], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', ...shell },
      encoding: 'utf8',
      timeout: 60_000,
    });
  }

  const withDockerCompose = dockerCompose ? it : it.skip;
  withDockerCompose(`is valid for docker-compose (config -q)${dockerCompose ? '' : ' [SKIPPED: docker-compose is not on PATH]'}`, () => {
    const result = dockerComposeConfig({}, '-q');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  withDockerCompose(`interpolates the environment exactly as docker-compose does${dockerCompose ? '' : ' [SKIPPED: docker-compose is not on PATH]'}`, () => {
    const shells: Array<Record<string, string>> = [{}, { WRITE_QUORUM: '5', CLUSTER_TOKEN: 't0ken', LEADER_URL: 'http://127.0.0.1:8000' }];
    for (const shell of shells) {
      const result = dockerComposeConfig(shell);
      expect(result.status).toBe(0);
      const resolved: unknown = parse(result.stdout);
      const services = isRecord(resolved) && isRecord(resolved['services']) ? resolved['services'] : {};
      const ours = parseCompose(composeText, shell);
      expect(Object.keys(services).sort()).toEqual(ours.services.map((s) => s.name).sort());
      for (const s of ours.services) {
        const theirs = services[s.name];
        const env = isRecord(theirs) && isRecord(theirs['environment']) ? theirs['environment'] : {};
        expect(Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]))).toEqual(s.environment);
      }
    }
  });
});

describe('the compose services as local processes', () => {
  let nodes: LocalService[] = [];
  let leader: LocalService;
  let followers: LocalService[];

  beforeAll(async () => {
    const dataRoot = mkdtempSync(path.join(tmpdir(), 'compose-e2e-data-'));
    tempDirs.push(dataRoot);
    nodes = await localServices(compose, dataRoot);
    started.push(...nodes.map((n) => n.process));
    followers = nodes.filter((n) => n.role === 'follower');
    const leaders = nodes.filter((n) => n.role === 'leader');
    expect(leaders).toHaveLength(1);
    leader = leaders[0];
    // As compose does: the leader starts once its followers are healthy.
    await Promise.all(followers.map((f) => f.process.start()));
    await leader.process.start();
  });

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.process.stop(5000)));
  });

  it('answers /health on every service with its role, each logging one ready line', async () => {
    for (const n of nodes) {
      expect(await call('GET', `${n.url}/health`)).toEqual({ status: 200, body: { status: 'ok', role: n.role } });
      expect(n.process.lines.filter((l) => /ready on http/.test(l))).toHaveLength(1);
    }
  });

  it('runs the leader with the demonstration quorum, following every follower service', async () => {
    type LeaderStatus = { writeQuorum: number; followers: Array<{ url: string; state: string }> };
    let seen = '';
    await waitFor(
      async () => {
        const s = (await call('GET', `${leader.url}/status`)).body as unknown as LeaderStatus;
        seen = JSON.stringify(s);
        return s.followers.every((f) => f.state === 'up');
      },
      10_000,
      () => `leader status ${seen}`,
    );
    const s = JSON.parse(seen) as LeaderStatus;
    expect(s.writeQuorum).toBe(3);
    expect(s.followers.map((f) => f.url)).toEqual(followers.map((f) => f.url));
  });

  it('creates, reads, updates and deletes through the leader, with every follower following', async () => {
    const created = await call('PUT', `${leader.url}/kv/compose`, { value: { n: 1 } });
    expect(created).toEqual({ status: 200, body: { key: 'compose', version: expect.any(Number), acks: 3, quorum: 3 } });
    expect((await call('GET', `${leader.url}/kv/compose`)).body).toEqual({ key: 'compose', value: { n: 1 }, version: created.body['version'] });

    const updated = await call('PUT', `${leader.url}/kv/compose?w=5`, { value: 'everywhere' });
    expect(updated.body).toMatchObject({ acks: 5, quorum: 5 });
    for (const f of followers) {
      expect(await call('GET', `${f.url}/kv/compose`)).toEqual({ status: 200, body: { key: 'compose', value: 'everywhere', version: updated.body['version'] } });
    }

    const deleted = await call('DELETE', `${leader.url}/kv/compose?w=5`);
    expect(deleted.body).toMatchObject({ acks: 5, quorum: 5 });
    for (const n of nodes) expect((await call('GET', `${n.url}/kv/compose`)).status).toBe(404);
  });

  it('refuses writes on every follower with 403 and the address of the leader', async () => {
    for (const f of followers) {
      const put = await call('PUT', `${f.url}/kv/nope`, { value: 1 });
      expect(put).toEqual({ status: 403, body: expect.objectContaining({ error: 'Only leader accepts writes', leader: leader.url }) });
      expect((await call('DELETE', `${f.url}/kv/nope`)).status).toBe(403);
    }
  });
});
