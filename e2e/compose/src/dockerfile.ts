/** A small Dockerfile reader: stages, their instructions, and what the final image runs. */
import path from 'node:path';

export interface Instruction {
  /** Upper case: FROM, RUN, COPY, ... */
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
  /** The WORKDIR in force when this instruction runs. */
  readonly workdir: string;
}

export interface Stage {
  readonly base: string;
  readonly name: string | null;
  readonly instructions: readonly Instruction[];
}

export interface ImageConfig {
  readonly workdir: string;
  readonly env: Readonly<Record<string, string>>;
  /** The last USER; null when the stage never sets one (root). */
  readonly user: string | null;
  readonly cmd: readonly string[] | null;
  readonly entrypoint: readonly string[] | null;
  /** The HEALTHCHECK command as one line; null when there is none. */
  readonly healthcheck: string | null;
}

export interface Copy {
  readonly from: string | null;
  /** Absolute paths: in the `from` stage's filesystem for COPY --from, else relative to the build context. */
  readonly sources: readonly string[];
  /** Absolute path in this stage. */
  readonly dest: string;
}

export function parseDockerfile(text: string): Stage[] {
  const stages: Array<{ base: string; name: string | null; instructions: Instruction[] }> = [];
  let workdir = '/';
  let pending = '';
  let startLine = 0;
  text.split('\n').forEach((rawLine, i) => {
    const line = rawLine.trim();
    // Comment and blank lines are dropped even inside a continued instruction, as Docker does.
    if (line.startsWith('#') || line === '') return;
    if (pending === '') startLine = i + 1;
    pending += line.endsWith('\\') ? `${line.slice(0, -1).trimEnd()} ` : line;
    if (line.endsWith('\\')) return;
    const [, keyword, args] = /^(\S+)\s*([^]*)$/.exec(pending.trim()) ?? ['', '', ''];
    pending = '';
    const upper = keyword.toUpperCase();
    if (upper === 'FROM') {
      const from = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from) throw new Error(`line ${startLine}: cannot read FROM ${args}`);
      const earlier = stages.find((s) => s.name === from[1]);
      workdir = earlier ? workdirOf(earlier.instructions) : '/';
      stages.push({ base: from[1], name: from[2] ?? null, instructions: [] });
      return;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`line ${startLine}: ${upper} before the first FROM`);
    if (upper === 'WORKDIR') workdir = path.posix.resolve(workdir, args);
    stage.instructions.push({ keyword: upper, args, line: startLine, workdir });
  });
  return stages;
}

function workdirOf(instructions: readonly Instruction[]): string {
  return instructions.at(-1)?.workdir ?? '/';
}

/** `["node", "x.js"]` as a list; a shell form command as `/bin/sh -c ...`. */
export function execForm(args: string): string[] {
  if (args.startsWith('[')) {
    const parsed: unknown = JSON.parse(args);
    if (!Array.isArray(parsed) || !parsed.every((a: unknown) => typeof a === 'string')) throw new Error(`not an exec form: ${args}`);
    return parsed;
  }
  return ['/bin/sh', '-c', args];
}

export function imageConfig(stage: Stage): ImageConfig {
  const env: Record<string, string> = {};
  let user: string | null = null;
  let cmd: string[] | null = null;
  let entrypoint: string[] | null = null;
  let healthcheck: string | null = null;
  for (const { keyword, args } of stage.instructions) {
    if (keyword === 'ENV') Object.assign(env, parseEnv(args));
    if (keyword === 'USER') user = args.trim();
    if (keyword === 'CMD') cmd = execForm(args);
    if (keyword === 'ENTRYPOINT') entrypoint = execForm(args);
    if (keyword === 'HEALTHCHECK') {
      const check = /^(?:--\S+\s+)*(CMD\s+([^]*)|NONE)$/i.exec(args);
      healthcheck = !check || check[1].toUpperCase() === 'NONE' ? null : execForm(check[2]).join(' ');
    }
  }
  return { workdir: workdirOf(stage.instructions), env, user, cmd, entrypoint, healthcheck };
}

/** `ENV A=1 B="two words"` or the legacy `ENV A one value`. */
export function parseEnv(args: string): Record<string, string> {
  const legacy = /^([A-Za-z_][A-Za-z0-9_]*)\s+([^=][^]*)$/.exec(args);
  if (legacy) return { [legacy[1]]: legacy[2].trim() };
  const env: Record<string, string> = {};
  for (const [, name, value] of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g)) {
    env[name] = /^["']/.test(value) ? value.slice(1, -1) : value;
  }
  return env;
}

export function copies(stage: Stage): Copy[] {
  return stage.instructions
    .filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')
    .map((i) => {
      const words = i.args.startsWith('[') ? execForm(i.args) : i.args.split(/\s+/);
      const flags = words.filter((w) => w.startsWith('--'));
      const paths = words.filter((w) => !w.startsWith('--'));
      const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length) ?? null;
      const dest = path.posix.resolve(i.workdir, paths.at(-1) ?? '.');
      // COPY --from reads from the other stage's root, not from its WORKDIR.
      const sources = paths.slice(0, -1).map((s) => path.posix.resolve('/', s));
      return { from, sources, dest };
    });
}

export function runs(stage: Stage): string[] {
  return stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
}
