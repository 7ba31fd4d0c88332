import type { Item } from './client';
import type { StormOutcome } from './storm';

/**
 * What a storm's clients learned, to hold the leader's final state to API.md guarantees 1,
 * 2 and 7: a write answered 200 is there with its version, or superseded by a newer write
 * to its key. A newer write may be one whose outcome the client never learned (the leader
 * was killed before answering, or a 503 that kept it): the leader may have applied it.
 */
export class WriteHistory {
  private readonly byKey = new Map<string, StormOutcome[]>();
  private readonly byPutIndex = new Map<number, StormOutcome>();

  /** Records one operation's outcome (StormOptions.onOutcome). */
  record(outcome: StormOutcome): void {
    this.byKey.set(outcome.key, [...(this.byKey.get(outcome.key) ?? []), outcome]);
    if (outcome.kind === 'put') this.byPutIndex.set(outcome.index, outcome);
  }

  /** Writes answered 200. */
  get acknowledged(): number {
    let count = 0;
    for (const outcomes of this.byKey.values()) count += outcomes.filter((o) => o.status === 200).length;
    return count;
  }

  /** The highest version any write was answered with (200 or a 503 that kept it). */
  get highestVersion(): number {
    let highest = 0;
    for (const outcomes of this.byKey.values()) for (const o of outcomes) highest = Math.max(highest, o.version ?? 0);
    return highest;
  }

  /**
   * Every way `items` (a node's whole listing) breaks the history, one line each: an
   * acknowledged write missing or older, a value no write to its key could have made.
   */
  violations(items: readonly Item[]): string[] {
    const listed = new Map(items.map((item) => [item.key, item]));
    const problems: string[] = [];
    for (const item of items) {
      const writer = this.writerOf(item);
      if (!writer || writer.key !== item.key) problems.push(`${item.key}: holds ${JSON.stringify(item)}, which no put to this key wrote`);
      else if (writer.status === 200 && writer.version !== item.version) problems.push(`${item.key}: holds put #${writer.index} at version ${item.version}, answered as ${writer.version}`);
    }
    for (const [key, outcomes] of this.byKey) {
      const acked = outcomes.filter((o) => o.status === 200);
      if (acked.length === 0) continue;
      const last = acked.reduce((a, b) => ((b.version ?? 0) > (a.version ?? 0) ? b : a));
      const lastVersion = last.version ?? 0;
      const item = listed.get(key);
      const mayHaveApplied = (o: StormOutcome) => (o.status === 200 && (o.version ?? 0) > lastVersion) || o.status === 0 || (o.status >= 500 && (o.version ?? Infinity) > lastVersion);
      const described = `the last acknowledged write is ${last.kind} #${last.index} at version ${lastVersion}`;
      if (item === undefined) {
        if (last.kind === 'delete') continue;
        if (!outcomes.some((o) => o.kind === 'delete' && mayHaveApplied(o))) problems.push(`${key}: absent, but ${described} and no later delete may have applied`);
      } else if (item.version < lastVersion) {
        problems.push(`${key}: holds version ${item.version}, but ${described}`);
      } else if (item.version === lastVersion && (last.kind === 'delete' || JSON.stringify(item.value) !== JSON.stringify(last.value))) {
        problems.push(`${key}: holds ${JSON.stringify(item)}, but ${described}`);
      } else if (item.version > lastVersion) {
        const writer = this.writerOf(item);
        if (!writer || !mayHaveApplied(writer)) problems.push(`${key}: holds ${JSON.stringify(item)}, newer than ${described}, by a write that was never applied`);
      }
    }
    return problems;
  }

  /** The put whose value `{ index }` the item holds. */
  private writerOf(item: Item): StormOutcome | undefined {
    const index = (item.value as { index?: unknown } | null)?.index;
    return typeof index === 'number' ? this.byPutIndex.get(index) : undefined;
  }
}
