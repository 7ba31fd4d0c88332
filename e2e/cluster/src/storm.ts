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
  /** Gives up after this long, whatever is left. */
  readonly deadlineMs?: number;
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
      const key = `key${index % options.keys}`;
      const isDelete = options.deleteEvery !== undefined && index % options.deleteEvery === options.deleteEvery - 1;
      const res = isDelete ? await del(options.leader, `key${(index - 1) % options.keys}`, options.w) : await put(options.leader, key, { index }, options.w);
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (res.status === 200 || (isDelete && res.status === 404)) ok++;
      else notOk++;
    }
  };
  await Promise.all(Array.from({ length: options.writers }, writer));
  return { ok, notOk, statuses };
}
