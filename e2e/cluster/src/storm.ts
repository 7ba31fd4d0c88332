import { del, put } from './client';

export interface StormOptions {
  readonly leader: string;
  readonly writers: number;
  readonly writes: number;
  readonly keys: number;
  /** Every n-th operation is a DELETE of the key just written (a delete right after a put). */
  readonly deleteEvery?: number;
  readonly w?: number;
  /** Called once with the index of each operation before it is sent. */
  readonly onOperation?: (index: number) => Promise<void> | void;
  /** Called once with each operation's outcome, as its answer (or its failure) arrives. */
  readonly onOutcome?: (outcome: StormOutcome) => void;
  /**
   * Keep going when the leader does not answer at all (killed, restarting): the operation
   * counts as not ok with status 0 and its writer pauses this long before the next one.
   * Without it, a failed connection fails the storm.
   */
  readonly unreachablePauseMs?: number;
  /** Gives up after this long, whatever is left. */
  readonly deadlineMs?: number;
}

/** One operation of a storm and what the leader answered. */
export interface StormOutcome {
  readonly index: number;
  readonly kind: 'put' | 'delete';
  readonly key: string;
  /** What a put wrote: `{ index }`, unique to the operation, so a stored value names the write that made it. */
  readonly value?: { readonly index: number };
  /** The HTTP status, or 0 when no answer came (the connection failed). */
  readonly status: number;
  /** The version the leader gave it (a 200, or a 503 whose write the leader applied and kept). */
  readonly version?: number;
}

export interface StormResult {
  readonly ok: number;
  readonly notOk: number;
  readonly statuses: Record<number, number>;
}

/** A bounded write storm: `writes` operations by `writers` concurrent clients, stopped at the deadline. */
export async function storm(options: StormOptions): Promise<StormResult> {
  let next = 0;
  let ok = 0;
  let notOk = 0;
  const statuses: Record<number, number> = {};
  const deadline = Date.now() + (options.deadlineMs ?? 60_000);
  const writer = async () => {
    while (next < options.writes && Date.now() < deadline) {
      const index = next++;
      await options.onOperation?.(index);
      const isDelete = options.deleteEvery !== undefined && index % options.deleteEvery === options.deleteEvery - 1;
      const key = isDelete ? `key${(index - 1) % options.keys}` : `key${index % options.keys}`;
      const value = { index };
      let status = 0;
      let version: number | undefined;
      try {
        const res = isDelete ? await del(options.leader, key, options.w) : await put(options.leader, key, value, options.w);
        status = res.status;
        version = typeof res.body?.version === 'number' ? res.body.version : undefined;
      } catch (error) {
        if (options.unreachablePauseMs === undefined) throw error;
      }
      options.onOutcome?.({ index, kind: isDelete ? 'delete' : 'put', key, ...(isDelete ? {} : { value }), status, ...(version !== undefined ? { version } : {}) });
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status === 200 || (isDelete && status === 404)) ok++;
      else notOk++;
      if (status === 0) await new Promise((resolve) => setTimeout(resolve, options.unreachablePauseMs));
    }
  };
  await Promise.all(Array.from({ length: options.writers }, writer));
  return { ok, notOk, statuses };
}
