import Table from 'cli-table3';
import type { NodeStatus, ReadResult, WatchEvent } from '@kv/client';
import type { HealthResponse, ListResponse, ReadResponse, WriteResponse } from '@kv/protocol';
import type { JsonValue } from '@kv/store';

/** `-o`: human lines (`text`), the API's JSON answers (`json`), or boxed tables (`table`). */
export type OutputFormat = 'text' | 'json' | 'table';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['text', 'json', 'table'];

/**
 * Every formatter returns the whole text to print, each line ending in `\n`. In `json` mode
 * the API's answer is printed as it came, on one line; tables carry no colour codes.
 */
function table(head: string[], rows: Array<Array<string | number>>): string {
  const t = new Table({ head, style: { head: [], border: [] } });
  t.push(...rows.map((row) => row.map(String)));
  return `${t.toString()}\n`;
}

const json = (value: unknown): string => `${JSON.stringify(value)}\n`;

/** A value on one line: a string as it is, anything else as JSON. */
export function valueText(value: JsonValue): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function formatRead(read: ReadResult, output: OutputFormat): string {
  const answer: ReadResponse = { key: read.key, value: read.value, version: read.version };
  if (output === 'json') return json(answer);
  if (output === 'table') return table(['key', 'value', 'version'], [[read.key, JSON.stringify(read.value), read.version]]);
  return `${valueText(read.value)}\n`;
}

export function formatWrite(write: WriteResponse, output: OutputFormat): string {
  if (output === 'json') return json(write);
  if (output === 'table') return table(['key', 'version', 'acks', 'quorum'], [[write.key, write.version, write.acks, write.quorum]]);
  return `version ${write.version} (${write.acks} of ${write.quorum} follower acks)\n`;
}

/** A listing: one `KEY<TAB>VALUE-AS-JSON<TAB>VERSION` line per item in text mode. */
export function formatList(page: ListResponse, output: OutputFormat): string {
  if (output === 'json') return json(page);
  if (output === 'table') return table(['key', 'value', 'version'], page.items.map((i) => [i.key, JSON.stringify(i.value), i.version]));
  return page.items.map((i) => `${i.key}\t${JSON.stringify(i.value)}\t${i.version}\n`).join('');
}

/** A leader's status: its own line, then one line per follower; a follower's: one line. */
export function formatStatus(status: NodeStatus, output: OutputFormat): string {
  if (output === 'json') return json(status);
  if (status.role === 'follower') {
    if (output === 'table') return table(['role', 'appliedVersion', 'keys'], [['follower', status.appliedVersion, status.keys]]);
    return `follower appliedVersion=${status.appliedVersion} keys=${status.keys}\n`;
  }
  if (output === 'table') {
    return table(
      ['node', 'role', 'version', 'lag', 'state', 'lastError / details'],
      [
        ['(this node)', 'leader', status.version, '', status.state, `keys=${status.keys} writeQuorum=${status.writeQuorum} inSync=${status.inSync}${status.reason ? ` ${status.reason}` : ''}`],
        ...status.followers.map((f) => [f.url, 'follower', f.ackedVersion, f.lag, f.state, f.lastError ?? '']),
      ],
    );
  }
  return [
    `leader state=${status.state} version=${status.version} keys=${status.keys} writeQuorum=${status.writeQuorum} inSync=${status.inSync}${status.reason ? ` reason=${JSON.stringify(status.reason)}` : ''}\n`,
    ...status.followers.map((f) => `follower ${f.url} state=${f.state} ackedVersion=${f.ackedVersion} lag=${f.lag}${f.lastError ? ` lastError=${JSON.stringify(f.lastError)}` : ''}\n`),
  ].join('');
}

export function formatHealth(health: HealthResponse, output: OutputFormat): string {
  if (output === 'json') return json(health);
  if (output === 'table') return table(['status', 'role'], [[health.status, health.role]]);
  return `${health.status} ${health.role}\n`;
}

/** One watch event per line: `VERSION put KEY VALUE-AS-JSON` or `VERSION delete KEY`; JSON lines with `-o json`. */
export function formatEvent(event: WatchEvent, output: OutputFormat): string {
  if (output === 'json') return json(event);
  return event.type === 'put' ? `${event.version}\tput\t${event.key}\t${JSON.stringify(event.value)}\n` : `${event.version}\tdelete\t${event.key}\n`;
}
