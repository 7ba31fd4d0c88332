import { Command, CommanderError, Option } from 'commander';
import { KvClient, type KvClientOptions } from '@kv/client';
import type { ListResponse, ReadResponse } from '@kv/protocol';
import { EXIT, EXIT_CODES_HELP, UsageError, describeError, exitCodeFor } from './exit-codes';
import { formatEvent, formatHealth, formatList, formatRead, formatStatus, formatWrite, OUTPUT_FORMATS } from './format';
import { integerOption, resolveSettings, DEFAULT_ENDPOINT, type GlobalFlags, type Settings } from './settings';
import { parseValue, stdinValueText, type ValueMode } from './value';

/** What the CLI touches outside itself: tests pass strings and fakes, main.ts the process. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** The whole of stdin, for VALUE `-`. */
  readonly readStdin: () => Promise<string>;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Builds the client; tests may wrap it. */
  readonly makeClient?: (options: KvClientOptions) => KvClient;
}

/**
 * Runs kvctl with `argv` (without `node` and the script) and resolves with the exit code
 * (see EXIT). Never throws and never exits the process: every failure becomes one
 * `kvctl: ...` line on stderr and its code.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let client: KvClient | null = null;
  let key: string | undefined;
  const connect = (command: Command): { client: KvClient; settings: Settings } => {
    const settings = resolveSettings(command.optsWithGlobals<GlobalFlags>(), io.env);
    const options: KvClientOptions = { endpoints: settings.endpoints, timeoutMs: settings.timeoutMs };
    client = io.makeClient ? io.makeClient(options) : new KvClient(options);
    return { client, settings };
  };
  const program = buildProgram(io, {
    async get(k, flags, command) {
      key = k;
      const { client, settings } = connect(command);
      const minVersion = flags.minVersion === undefined ? undefined : integerOption('--min-version', flags.minVersion, 0);
      io.stdout(formatRead(await client.get(k, { minVersion }), settings.output));
    },
    async put(k, valueText, flags, command) {
      key = k;
      const { client, settings } = connect(command);
      if (flags.string && flags.json) throw new UsageError('--string and --json exclude each other');
      const mode: ValueMode = flags.string ? 'string' : flags.json ? 'json' : 'auto';
      const text = valueText === '-' ? stdinValueText(await io.readStdin()) : valueText;
      const value = parseValue(text, mode);
      const ifVersion = flags.ifVersion === undefined ? undefined : integerOption('--if-version', flags.ifVersion, 0);
      io.stdout(formatWrite(await client.put(k, value, { w: settings.quorum, ifVersion }), settings.output));
    },
    async del(k, flags, command) {
      key = k;
      const { client, settings } = connect(command);
      const ifVersion = flags.ifVersion === undefined ? undefined : integerOption('--if-version', flags.ifVersion, 1);
      io.stdout(formatWrite(await client.delete(k, { w: settings.quorum, ifVersion }), settings.output));
    },
    async ls(flags, command) {
      const { client, settings } = connect(command);
      const limit = flags.limit === undefined ? undefined : integerOption('--limit', flags.limit, 1);
      io.stdout(formatList(await listing(client, flags.prefix, limit), settings.output));
    },
    async status(command) {
      const { client, settings } = connect(command);
      io.stdout(formatStatus(await client.status(), settings.output));
    },
    async health(command) {
      const { client, settings } = connect(command);
      io.stdout(formatHealth(await client.health(), settings.output));
    },
    async watch(flags, command) {
      const { client, settings } = connect(command);
      const fromVersion = flags.from === undefined ? undefined : integerOption('--from', flags.from, 0);
      const count = flags.count === undefined ? Infinity : integerOption('--count', flags.count, 1);
      let seen = 0;
      if (seen >= count) return;
      for await (const event of client.watch({ prefix: flags.prefix, fromVersion })) {
        io.stdout(formatEvent(event, settings.output));
        if (++seen >= count) break;
      }
    },
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.OK;
  } catch (error) {
    const code = exitCodeFor(error);
    // Commander has printed its own usage errors and help already.
    if (!(error instanceof CommanderError)) io.stderr(`${describeError(error, key)}\n`);
    return code;
  } finally {
    (client as KvClient | null)?.close();
  }
}

/** API.md's largest page. A constant here: importing @kv/protocol's values would bundle class-validator into the CLI. */
const MAX_LIST_LIMIT = 10_000;

/**
 * One page when `limit` fits in one (the API's answer as it is), else every page, cut at
 * `limit` items; `next` is then where a further listing would continue, or null.
 */
async function listing(client: KvClient, prefix: string | undefined, limit: number | undefined): Promise<ListResponse> {
  if (limit !== undefined && limit <= MAX_LIST_LIMIT) {
    const { items, next } = await client.listPage({ prefix, pageSize: limit });
    return { items, next };
  }
  const items: ReadResponse[] = [];
  for await (const item of client.list({ prefix, pageSize: MAX_LIST_LIMIT })) {
    if (limit !== undefined && items.length === limit) return { items, next: items[items.length - 1].key };
    items.push(item);
  }
  return { items, next: null };
}

interface Actions {
  get(key: string, flags: { minVersion?: string }, command: Command): Promise<void>;
  put(key: string, value: string, flags: { ifVersion?: string; string?: boolean; json?: boolean }, command: Command): Promise<void>;
  del(key: string, flags: { ifVersion?: string }, command: Command): Promise<void>;
  ls(flags: { prefix?: string; limit?: string }, command: Command): Promise<void>;
  status(command: Command): Promise<void>;
  health(command: Command): Promise<void>;
  watch(flags: { prefix?: string; from?: string; count?: string }, command: Command): Promise<void>;
}

/** The command tree; commander parses, the actions do the work. Help and usage errors go to `io`. */
function buildProgram(io: CliIo, actions: Actions): Command {
  const program = new Command('kvctl')
    .description('Command line client of the replicated key-value store: reads go to any node, writes find the leader.')
    .option('--endpoints <urls>', `comma-separated node URLs (env KV_ENDPOINTS, default ${DEFAULT_ENDPOINT})`)
    .option('-w, --quorum <n>', 'follower acks a write waits for (default: the leader\'s WRITE_QUORUM)')
    .addOption(new Option('-o, --output <format>', `${OUTPUT_FORMATS.join(', ')} (env KV_OUTPUT, default text)`))
    .option('--timeout <ms>', 'per-request timeout in ms (default 10000)')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: (text, write) => write(`kvctl: ${text.replace(/^error: /, '')}`) })
    .addHelpText('after', `${EXIT_CODES_HELP}

Examples:
  kvctl put hello world                     # stored as the string "world"
  kvctl put conf '{"retries": 3}' -w 5      # JSON, on all five followers before the answer
  kvctl get hello
  kvctl ls --prefix he -o table
  kvctl put counter 2 --if-version 7        # only if counter is still at version 7
  kvctl watch --prefix he --from 0 --count 10`);
  program.command('get <key>').description('print the value of KEY (a string as it is, anything else as JSON)')
    .option('--min-version <v>', 'read-your-writes: wait until the node holds version V (1 s at most)')
    .action(actions.get);
  program.command('put <key> <value>').description('store VALUE under KEY: JSON when it parses, else a string; - reads stdin')
    .option('--if-version <n>', 'only if KEY is at version N (0: only if absent)')
    .option('--string', 'store VALUE as a string even if it parses as JSON')
    .option('--json', 'VALUE must be JSON')
    .action(actions.put);
  program.command('del <key>').description('delete KEY').option('--if-version <n>', 'only if KEY is at version N').action(actions.del);
  program.command('ls').description('list keys in byte order: KEY, VALUE as JSON and VERSION per line')
    .option('--prefix <p>', 'only keys starting with P')
    .option('--limit <n>', 'at most N items')
    .action(actions.ls);
  program.command('status').description('the node\'s status: a leader shows each follower\'s acked version, lag and state').action((_opts, command: Command) => actions.status(command));
  program.command('health').description('the node\'s health and role').action((_opts, command: Command) => actions.health(command));
  program.command('watch').description('print changes as they happen: VERSION, put or delete, KEY, VALUE')
    .option('--prefix <p>', 'only keys starting with P')
    .option('--from <v>', 'changes after version V (0: every live key first); default: from now')
    .option('--count <n>', 'stop after N events')
    .action(actions.watch);
  return program;
}
