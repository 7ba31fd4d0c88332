import type { FaultKind } from './history';
import { Random } from './random';

export interface ScheduledFault {
  readonly atMs: number;
  readonly kind: FaultKind;
  readonly target: string;
  readonly durationMs: number;
  /** delay-link: the mean extra delay. */
  readonly delayMs?: number;
}

export interface ScheduleOptions {
  readonly seed: number;
  readonly seconds: number;
  readonly followers: readonly string[];
  /** With DATA_DIR: kills keep the data; wipes and torn writes exist. */
  readonly persistent: boolean;
  /** Allow the leader to come back without its data (or with an older one): off until leader recovery lands. */
  readonly leaderWipe: boolean;
}

const LINK_FAULTS: FaultKind[] = ['cut-link', 'delay-link', 'duplicate-link', 'reorder-link'];

/**
 * The whole fault schedule, computed up front from the seed alone: the same seed and
 * options give the same schedule, whatever the machine's speed. One fault per node (or
 * link) at a time, at most two followers down at once, none in the last second.
 */
export function makeSchedule(options: ScheduleOptions): ScheduledFault[] {
  const random = new Random(options.seed ^ 0x5eed);
  const endMs = options.seconds * 1000 - 1000;
  const busyUntil = new Map<string, number>();
  const processFaults: Array<{ target: string; until: number }> = [];
  const schedule: ScheduledFault[] = [];

  const followerKinds: FaultKind[] = options.persistent ? ['kill', 'kill', 'wipe', 'torn-write', 'pause'] : ['kill', 'kill', 'pause'];
  const leaderKinds: FaultKind[] = ['pause'];
  if (options.persistent) leaderKinds.push('kill');
  if (options.leaderWipe) leaderKinds.push(options.persistent ? 'wipe' : 'kill', ...(options.persistent ? (['torn-write'] as FaultKind[]) : []));

  for (let at = 1000 + random.int(0, 800); at < endMs; at += random.int(250, 1500)) {
    const onLink = random.chance(0.45);
    const onLeader = !onLink && random.chance(0.2);
    const kind = onLink ? random.pick(LINK_FAULTS) : random.pick(onLeader ? leaderKinds : followerKinds);
    const candidates = onLeader ? ['leader'] : options.followers.map((f) => (onLink ? `link:${f}` : f));
    const free = candidates.filter((t) => (busyUntil.get(t) ?? 0) <= at);
    const down = processFaults.filter((p) => p.until > at && p.target !== 'leader').length;
    const target = free.length > 0 ? random.pick(free) : null;
    const durationMs = Math.min(random.int(300, 3000), Math.max(100, endMs - at));
    const delayMs = kind === 'delay-link' ? random.int(100, 1500) : undefined;
    if (target === null || (!onLink && !onLeader && down >= 2)) continue;
    const name = target.replace(/^link:/, '');
    // Busy a little past the end: a restart takes time.
    busyUntil.set(target, at + durationMs + 1000);
    if (!onLink) processFaults.push({ target: name, until: at + durationMs + 1000 });
    schedule.push({ atMs: at, kind, target: name, durationMs, ...(delayMs === undefined ? {} : { delayMs }) });
  }
  return schedule;
}
