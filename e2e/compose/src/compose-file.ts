/**
 * Reads a compose file the way `docker compose` does: YAML with `<<` merge keys, every
 * string value interpolated from the shell environment, then the few service fields this
 * test needs, normalised (short and long syntax alike).
 */
import { parse } from 'yaml';

export type ShellEnv = Readonly<Record<string, string | undefined>>;

export interface PortMapping {
  readonly hostIp: string | null;
  /** The host port; null when the container port is not published. */
  readonly published: number | null;
  readonly target: number;
}

export interface VolumeMount {
  readonly type: 'volume' | 'bind';
  /** The named volume or host path; null for an anonymous volume. */
  readonly source: string | null;
  readonly target: string;
}

export interface ComposeService {
  readonly name: string;
  readonly image: string | null;
  readonly build: { readonly context: string; readonly dockerfile: string } | null;
  /** The `command` override, exec form; null when the image's CMD applies. */
  readonly command: readonly string[] | null;
  readonly entrypoint: unknown;
  readonly envFile: unknown;
  readonly workingDir: string | null;
  readonly networkMode: string | null;
  /** After interpolation; a variable left unset is absent. */
  readonly environment: Readonly<Record<string, string>>;
  readonly ports: readonly PortMapping[];
  readonly volumes: readonly VolumeMount[];
  readonly networks: readonly string[];
  /** Service name -> condition. */
  readonly dependsOn: Readonly<Record<string, string>>;
  /** The healthcheck command as one line; null when the service sets none (the image's applies), 'NONE' when disabled. */
  readonly healthcheck: string | null;
}

export interface ComposeFile {
  /** In file order. */
  readonly services: readonly ComposeService[];
  readonly volumes: readonly string[];
  readonly networks: readonly string[];
}

const NAME = '[A-Za-z_][A-Za-z0-9_]*';

/**
 * Compose's interpolation: `$$` is a literal `$`; `$VAR` and `${VAR}` are the value or
 * empty; `${VAR:-d}` gives d when VAR is unset or empty, `${VAR-d}` only when unset;
 * `${VAR:?msg}` and `${VAR?msg}` fail likewise. Anything else after a `$` is an error.
 */
export function interpolate(text: string, shell: ShellEnv): string {
  return text.replace(/\$(\$|\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*|)/g, (match, ref: string) => {
    if (ref === '$') return '$';
    if (!ref.startsWith('{')) {
      if (ref === '') throw new Error(`invalid interpolation format in ${JSON.stringify(text)}`);
      return shell[ref] ?? '';
    }
    const parts = new RegExp(`^\\{(${NAME})(?:(:?[-?])([^]*))?\\}$`).exec(ref);
    if (!parts) throw new Error(`invalid interpolation format ${match} in ${JSON.stringify(text)}`);
    const [, name, op, arg = ''] = parts;
    const value = shell[name];
    const unsetOrEmpty = value === undefined || value === '';
    switch (op) {
      case undefined:
        return value ?? '';
      case ':-':
        return unsetOrEmpty ? arg : value;
      case '-':
        return value ?? arg;
      case ':?':
      case '?':
        if (op === ':?' ? unsetOrEmpty : value === undefined) throw new Error(`required variable ${name} is missing: ${arg}`);
        return value ?? '';
      default:
        throw new Error(`invalid interpolation format ${match}`);
    }
  });
}

export function parseCompose(text: string, shell: ShellEnv = {}): ComposeFile {
  const raw: unknown = parse(text, { merge: true });
  const doc = record(interpolateTree(raw, shell), 'the compose file');
  const services = Object.entries(record(doc['services'], 'services')).map(([name, value]) =>
    service(name, record(value, `services.${name}`), shell),
  );
  return {
    services,
    volumes: Object.keys(optionalRecord(doc['volumes'], 'volumes')),
    networks: Object.keys(optionalRecord(doc['networks'], 'networks')),
  };
}

function interpolateTree(value: unknown, shell: ShellEnv): unknown {
  if (typeof value === 'string') return interpolate(value, shell);
  if (Array.isArray(value)) return value.map((item: unknown) => interpolateTree(item, shell));
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateTree(v, shell)]));
  return value;
}

function service(name: string, s: Record<string, unknown>, shell: ShellEnv): ComposeService {
  const where = `services.${name}`;
  return {
    name,
    image: optionalString(s['image'], `${where}.image`),
    build: build(s['build'], `${where}.build`),
    command: command(s['command'], `${where}.command`),
    entrypoint: s['entrypoint'],
    envFile: s['env_file'],
    workingDir: optionalString(s['working_dir'], `${where}.working_dir`),
    networkMode: optionalString(s['network_mode'], `${where}.network_mode`),
    environment: environment(s['environment'], shell, `${where}.environment`),
    ports: list(s['ports'], `${where}.ports`).map((p, i) => port(p, `${where}.ports[${i}]`)),
    volumes: list(s['volumes'], `${where}.volumes`).map((v, i) => volume(v, `${where}.volumes[${i}]`)),
    networks: Array.isArray(s['networks'])
      ? s['networks'].map((n: unknown, i) => string(n, `${where}.networks[${i}]`))
      : Object.keys(optionalRecord(s['networks'], `${where}.networks`)),
    dependsOn: dependsOn(s['depends_on'], `${where}.depends_on`),
    healthcheck: healthcheck(s['healthcheck'], `${where}.healthcheck`),
  };
}

function build(value: unknown, where: string): ComposeService['build'] {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return { context: value, dockerfile: 'Dockerfile' };
  const b = record(value, where);
  return { context: string(b['context'] ?? '.', `${where}.context`), dockerfile: string(b['dockerfile'] ?? 'Dockerfile', `${where}.dockerfile`) };
}

function command(value: unknown, where: string): string[] | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') {
    // Compose splits a string command like a shell; quoting is not needed here, so refuse it.
    if (/["'\\]/.test(value)) throw new Error(`${where}: write a quoted command in exec form (a list)`);
    return value.trim().split(/\s+/);
  }
  return list(value, where).map((arg, i) => string(arg, `${where}[${i}]`));
}

function environment(value: unknown, shell: ShellEnv, where: string): Record<string, string> {
  const entries: Array<[string, unknown]> = Array.isArray(value)
    ? value.map((item: unknown, i): [string, unknown] => {
        const entry = string(item, `${where}[${i}]`);
        const eq = entry.indexOf('=');
        return eq < 0 ? [entry, null] : [entry.slice(0, eq), entry.slice(eq + 1)];
      })
    : Object.entries(optionalRecord(value, where));
  const env: Record<string, string> = {};
  for (const [name, v] of entries) {
    if (v === null) {
      // `- NAME` or `NAME:` passes the shell's value through, and nothing when it is unset.
      const passed = shell[name];
      if (passed !== undefined) env[name] = passed;
    } else if (typeof v === 'string' || typeof v === 'number') {
      env[name] = String(v);
    } else {
      throw new Error(`${where}.${name} must be a string or a number`);
    }
  }
  return env;
}

function port(value: unknown, where: string): PortMapping {
  if (typeof value === 'number') return { hostIp: null, published: null, target: value };
  if (typeof value === 'string') {
    const parts = value.replace(/\/(tcp|udp)$/, '').split(':');
    const target = integer(parts.pop(), where);
    const published = parts.length > 0 ? integer(parts.pop(), where) : null;
    return { hostIp: parts.length > 0 ? parts.join(':') : null, published, target };
  }
  const p = record(value, where);
  return {
    hostIp: optionalString(p['host_ip'], `${where}.host_ip`),
    published: p['published'] === undefined ? null : integer(p['published'], `${where}.published`),
    target: integer(p['target'], `${where}.target`),
  };
}

function volume(value: unknown, where: string): VolumeMount {
  if (typeof value === 'string') {
    const parts = value.split(':');
    if (parts.length === 1) return { type: 'volume', source: null, target: parts[0] };
    const source = parts[0];
    return { type: /^[./~]/.test(source) ? 'bind' : 'volume', source, target: parts[1] };
  }
  const v = record(value, where);
  const type = string(v['type'], `${where}.type`);
  if (type !== 'volume' && type !== 'bind') throw new Error(`${where}.type ${type} is not handled here`);
  return { type, source: optionalString(v['source'], `${where}.source`), target: string(v['target'], `${where}.target`) };
}

function dependsOn(value: unknown, where: string): Record<string, string> {
  if (Array.isArray(value)) return Object.fromEntries(value.map((name: unknown, i) => [string(name, `${where}[${i}]`), 'service_started']));
  return Object.fromEntries(
    Object.entries(optionalRecord(value, where)).map(([name, v]) => [
      name,
      string(optionalRecord(v, `${where}.${name}`)['condition'] ?? 'service_started', `${where}.${name}.condition`),
    ]),
  );
}

function healthcheck(value: unknown, where: string): string | null {
  if (value === undefined || value === null) return null;
  const h = record(value, where);
  if (h['disable'] === true) return 'NONE';
  const test = h['test'];
  if (typeof test === 'string') return test;
  return list(test, `${where}.test`)
    .map((arg, i) => string(arg, `${where}.test[${i}]`))
    .join(' ');
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function record(value: unknown, where: string): Record<string, unknown> {
  if (!isRecord(value)) throw new Error(`${where} must be a mapping`);
  return value;
}

function optionalRecord(value: unknown, where: string): Record<string, unknown> {
  return value === undefined || value === null ? {} : record(value, where);
}

function list(value: unknown, where: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Error(`${where} must be a list`);
  return value;
}

function string(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new Error(`${where} must be a string`);
  return value;
}

function optionalString(value: unknown, where: string): string | null {
  return value === undefined || value === null ? null : string(value, where);
}

function integer(value: unknown, where: string): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n)) throw new Error(`${where}: ${JSON.stringify(value)} is not a port number`);
  return n;
}
