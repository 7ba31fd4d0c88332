import { performance } from 'node:perf_hooks';
import type { Op, OpKind, Outcome } from './history';
import { Random } from './random';

export interface Endpoint {
  readonly name: string;
  readonly url: string;
}

export interface WorkloadOptions {
  readonly leader: Endpoint;
  readonly followers: readonly Endpoint[];
  readonly clients: number;
  readonly keys: readonly string[];
  readonly seed: number;
  /** Monotonic ms at which the run began: every time in the history is relative to it. */
  readonly originMs: number;
  readonly untilMs: number;
  readonly maxOpsPerClient: number;
  readonly conditional: boolean;
  readonly writeTimeoutMs: number;
  readonly quorums: readonly number[];
}

export const now = (originMs: number) => performance.now() - originMs;

interface Answer {
  status?: number;
  body?: Record<string, unknown>;
  appliedVersion?: number;
  error?: string;
  refused?: boolean;
}

async function request(method: string, url: string, body: unknown, timeoutMs: number): Promise<Answer> {
  try {
    const res = await fetch(url, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    } catch {
      parsed = { raw: text.slice(0, 200) };
    }
    const applied = res.headers.get('x-applied-version');
    return { status: res.status, body: parsed, ...(applied === null ? {} : { appliedVersion: Number(applied) }) };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    const code = cause?.code ?? (error as Error).name;
    return { error: code, refused: code === 'ECONNREFUSED' };
  }
}

/** What a write's answer says about whether it was applied. */
function writeOutcome(answer: Answer): Outcome {
  if (answer.status === undefined) return answer.refused ? 'fail' : 'info';
  if (answer.status === 200 || answer.status === 404 || answer.status === 412) return 'ok';
  // Refused before anything was applied (API.md: NOT_ENOUGH_FOLLOWERS; UNAVAILABLE while the
  // leader recovers or after it stood down): nothing happened.
  if (answer.status === 503) return answer.body?.code === 'NOT_ENOUGH_FOLLOWERS' || answer.body?.code === 'UNAVAILABLE' ? 'fail' : 'info';
  return answer.status >= 500 ? 'info' : 'fail';
}

/** Records operations into `ops` (shared by all clients); ids in invocation order. */
export class Recorder {
  readonly ops: Op[] = [];

  constructor(private readonly originMs: number) {}

  async run(
    fields: { client: number; kind: OpKind; key: string; node: Endpoint; value?: unknown; w?: number; ifVersion?: number; probeOf?: number },
    method: string,
    url: string,
    body: unknown,
    timeoutMs: number,
  ): Promise<Op> {
    const { node, ...rest } = fields;
    const op: Op = { id: this.ops.length, ...rest, node: node.name, invokeMs: now(this.originMs), completeMs: null, outcome: 'info' };
    this.ops.push(op);
    const answer = await request(method, url, body, timeoutMs);
    op.completeMs = now(this.originMs);
    op.status = answer.status;
    if (answer.error) op.error = answer.error;
    if (answer.appliedVersion !== undefined) op.appliedVersion = answer.appliedVersion;
    const code = answer.body?.code;
    if (typeof code === 'string') op.code = code;
    if (typeof answer.body?.version === 'number') op.version = answer.body.version;
    if (op.kind === 'read') {
      op.outcome = answer.status === 200 || answer.status === 404 ? 'ok' : 'fail';
      if (answer.status === 200) op.readValue = answer.body?.value;
      if (answer.status === 404) delete op.version;
    } else {
      op.outcome = writeOutcome(answer);
      if (answer.status === 404) delete op.version;
    }
    return op;
  }
}

/** One probe: does the server know `?ifVersion=`? Old servers answer 400 to the unknown query. */
export async function supportsConditionalWrites(leader: string, key: string): Promise<boolean> {
  const answer = await request('PUT', `${leader}/kv/${encodeURIComponent(key)}?ifVersion=0`, { value: 'probe' }, 5000);
  return answer.status === 200 || answer.status === 412;
}

/**
 * Concurrent clients, each one operation at a time: writes (put, delete, conditional) and
 * reads on the leader, reads on random followers, and after some acknowledged writes a
 * probe read on every follower. Bounded by `untilMs` and `maxOpsPerClient`.
 */
export async function runWorkload(options: WorkloadOptions, recorder: Recorder): Promise<void> {
  const client = async (id: number) => {
    const random = new Random(options.seed * 31 + id);
    const lastSeen = new Map<string, number>();
    for (let n = 0; n < options.maxOpsPerClient && now(options.originMs) < options.untilMs; n++) {
      const key = random.pick(options.keys);
      const path = `/kv/${encodeURIComponent(key)}`;
      const roll = random.next();
      if (roll < 0.45) {
        const w = random.pick(options.quorums);
        const conditional = options.conditional && random.chance(0.2) ? (lastSeen.get(key) ?? 0) : undefined;
        const remove = random.chance(0.25) && conditional !== 0;
        const query = `?w=${w}${conditional === undefined ? '' : `&ifVersion=${conditional}`}`;
        const value = `c${id}-${n}`;
        const op = remove
          ? await recorder.run({ client: id, kind: 'delete', key, node: options.leader, w, ifVersion: conditional }, 'DELETE', `${options.leader.url}${path}${query}`, undefined, options.writeTimeoutMs)
          : await recorder.run({ client: id, kind: 'put', key, node: options.leader, value, w, ifVersion: conditional }, 'PUT', `${options.leader.url}${path}${query}`, { value }, options.writeTimeoutMs);
        if (op.status === 200 && op.version !== undefined) {
          lastSeen.set(key, remove ? 0 : op.version);
          if (random.chance(0.3)) {
            await Promise.all(
              options.followers.map((f) => recorder.run({ client: id, kind: 'read', key, node: f, probeOf: op.id }, 'GET', `${f.url}${path}`, undefined, 1000)),
            );
          }
        }
        if (op.status === 412) lastSeen.set(key, op.version ?? 0);
      } else {
        const node = roll < 0.65 ? options.leader : random.pick(options.followers);
        const op = await recorder.run({ client: id, kind: 'read', key, node }, 'GET', `${node.url}${path}`, undefined, 2000);
        if (node === options.leader && op.outcome === 'ok') lastSeen.set(key, op.version ?? 0);
      }
      // A short pause between ops keeps two shared cores for the nodes.
      await new Promise((resolve) => setTimeout(resolve, random.int(0, 15)));
    }
  };
  await Promise.all(Array.from({ length: options.clients }, (_, i) => client(i + 1)));
}
