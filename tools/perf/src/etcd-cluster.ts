/**
 * etcd as one more storm target (README, Measure it): a cluster someone runs (`--etcd URL`),
 * or six members this run launches on loopback (`--launch-etcd`), each with its own
 * `--data-dir` on disk under one temporary directory, stopped by PID and removed afterwards.
 * For benchmarks only: CI never needs etcd, and a run without it skips this target.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants as fsConstants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { requestAnswer } from './http-answer';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '@kv/local-cluster';

/** The six processes of our own cluster: etcd gets as many members, each with its own disk directory. */
export const ETCD_MEMBERS = 6;

export interface EtcdTarget {
  /** The member the storm writes to: the Raft leader when this run launched the cluster (as the storm writes to our leader). */
  readonly url: string;
  readonly memberUrls: readonly string[];
  readonly launched: boolean;
  /** `etcd --version`'s first line, for the results. */
  readonly version: string | null;
  /** The members' processes when this run launched them. */
  readonly pids: readonly number[];
  stop(): Promise<void>;
}

/** The etcd executable: `bin` when it contains a slash, else the first match on PATH; null when none. */
export function findEtcd(bin = 'etcd', searchPath = process.env.PATH ?? ''): string | null {
  const candidates = bin.includes('/') ? [bin] : searchPath.split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, bin));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** The command line of member `index` of a loopback cluster whose members listen on `ports`. */
export function etcdMemberArgs(
  index: number,
  ports: ReadonlyArray<{ readonly client: number; readonly peer: number }>,
  dataDir: string,
  clusterToken: string,
): string[] {
  const name = (i: number) => `m${i}`;
  const peerUrl = (i: number) => `http://127.0.0.1:${ports[i].peer}`;
  const clientUrl = `http://127.0.0.1:${ports[index].client}`;
  return [
    '--name', name(index),
    '--data-dir', dataDir,
    '--listen-client-urls', clientUrl,
    '--advertise-client-urls', clientUrl,
    '--listen-peer-urls', peerUrl(index),
    '--initial-advertise-peer-urls', peerUrl(index),
    '--initial-cluster', ports.map((_, i) => `${name(i)}=${peerUrl(i)}`).join(','),
    '--initial-cluster-state', 'new',
    '--initial-cluster-token', clusterToken,
    '--logger', 'zap',
    '--log-level', 'error',
  ];
}

/** The most of an etcd gateway's answer read: its status and member list are a few KiB. */
const MAX_ETCD_ANSWER_BYTES = 1024 * 1024;

/**
 * One POST with a JSON body to an etcd member's HTTP gateway; resolves with the parsed answer.
 * `timeoutMs` is a deadline on the whole answer (ms). Rejects on a transport error, a late or
 * over-long answer (1 MiB), or a body that is not JSON.
 */
export async function etcdPost(baseUrl: string, apiPath: string, body: unknown, timeoutMs = 2000): Promise<{ status: number; body: unknown }> {
  const answer = await requestAnswer(`${baseUrl}${apiPath}`, { method: 'POST', json: body, timeoutMs, maxBytes: MAX_ETCD_ANSWER_BYTES });
  return { status: answer.status, body: answer.text ? JSON.parse(answer.text) : null };
}

interface MemberStatus {
  readonly header?: { readonly member_id?: string };
  readonly leader?: string;
  readonly version?: string;
}

/** `POST /v3/maintenance/status` of every member; the URL of the one that says it leads, or null. */
async function findLeader(memberUrls: readonly string[]): Promise<{ url: string; version: string | null } | null> {
  for (const url of memberUrls) {
    try {
      const { status, body } = await etcdPost(url, '/v3/maintenance/status', {});
      const member = body as MemberStatus;
      if (status === 200 && member.leader !== undefined && member.leader !== '0' && member.leader === member.header?.member_id) {
        return { url, version: member.version ?? null };
      }
    } catch {
      // not up yet
    }
  }
  return null;
}

/**
 * An etcd cluster someone else runs: checks that `url` answers the gateway and reads its
 * version. Never stopped by this run.
 */
export async function connectEtcd(url: string): Promise<EtcdTarget> {
  const { status, body } = await etcdPost(url, '/v3/maintenance/status', {});
  if (status !== 200) throw new Error(`${url} is not an etcd HTTP gateway: /v3/maintenance/status answered ${status}`);
  const members = await etcdPost(url, '/v3/cluster/member/list', {}).catch(() => null);
  // The member `url` reaches is told by its ID, not by its URL's spelling.
  const selfId = (body as MemberStatus).header?.member_id;
  const others = loopbackClientUrls(members?.status === 200 ? members.body : null, selfId).filter((other) => other !== url);
  const memberUrls = [url, ...others];
  return { url, memberUrls, launched: false, version: (body as MemberStatus).version ?? null, pids: [], stop: async () => undefined };
}

interface MemberList {
  readonly members?: ReadonlyArray<{ readonly ID?: string; readonly clientURLs?: readonly string[] }>;
}

/**
 * The members' client URLs from a `/v3/cluster/member/list` answer, only those on loopback
 * (storm traffic stays on this machine), as origins; [] for anything else. `exceptId`: leave
 * out the member with this ID (the one a URL reaches, which may be spelled otherwise in the
 * list: `localhost` for `127.0.0.1`).
 */
export function loopbackClientUrls(memberList: unknown, exceptId?: string): string[] {
  const urls: string[] = [];
  for (const member of (memberList as MemberList | null)?.members ?? []) {
    if (exceptId !== undefined && member.ID === exceptId) continue;
    for (const text of member.clientURLs ?? []) {
      try {
        const parsed = new URL(text);
        if (parsed.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname) && !urls.includes(parsed.origin)) urls.push(parsed.origin);
      } catch {
        // not a URL
      }
    }
  }
  return urls;
}

async function stopMember(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Launches `members` etcd members on free loopback ports, data on disk under a fresh
 * temporary directory (one `--data-dir` each), waits until they elected a leader, and returns
 * that leader's URL. `stop()` ends each member by its PID (SIGTERM, SIGKILL after 5 s) and
 * removes the data. Throws when etcd is not found: callers that may skip check findEtcd first.
 */
export async function launchEtcd(options: { readonly bin?: string; readonly members?: number; readonly startTimeoutMs?: number; readonly log?: (line: string) => void } = {}): Promise<EtcdTarget> {
  const executable = findEtcd(options.bin);
  if (executable === null) throw new Error(`etcd not found (${options.bin ?? 'etcd'} on PATH): install it (Debian: apt-get install etcd-server) or pass --etcd-bin`);
  const members = options.members ?? ETCD_MEMBERS;
  const dataRoot = await mkdtemp(path.join(os.tmpdir(), 'kv-storm-etcd-'));
  const ports: Array<{ client: number; peer: number }> = [];
  // freePort may hand out one port twice in a row: keep asking until every port is distinct.
  const taken = new Set<number>();
  const distinctPort = async () => {
    for (;;) {
      const port = await freePort();
      if (!taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
  };
  for (let i = 0; i < members; i++) ports.push({ client: await distinctPort(), peer: await distinctPort() });
  const token = `kv-storm-${randomBytes(4).toString('hex')}`;
  const children: ChildProcess[] = [];
  const output: string[] = [];
  const stop = async () => {
    await Promise.all(children.map((child) => stopMember(child, 5000)));
    await rm(dataRoot, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < members; i++) {
      const child = spawn(executable, etcdMemberArgs(i, ports, path.join(dataRoot, `m${i}`), token), { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => {
        output.push(`m${i}: ${chunk.trim()}`);
        if (output.length > 50) output.shift();
      });
      children.push(child);
    }
    const memberUrls = ports.map((p) => `http://127.0.0.1:${p.client}`);
    const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
    for (;;) {
      const exited = children.findIndex((child) => child.exitCode !== null);
      if (exited >= 0) throw new Error(`etcd member m${exited} exited with code ${children[exited].exitCode}: ${output.slice(-5).join(' | ')}`);
      const leader = await findLeader(memberUrls);
      if (leader) {
        options.log?.(`etcd: ${members} members (${leader.version ?? 'version unknown'}), data in ${dataRoot}, pids ${children.map((c) => c.pid).join(' ')}, leader ${leader.url}\n`);
        return { url: leader.url, memberUrls, launched: true, version: leader.version, pids: children.map((c) => c.pid as number), stop };
      }
      if (Date.now() > deadline) throw new Error(`etcd elected no leader within ${options.startTimeoutMs ?? 30_000} ms: ${output.slice(-5).join(' | ')}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } catch (error) {
    await stop();
    throw error;
  }
}
