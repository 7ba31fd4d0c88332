import type { JsonValue } from '@kv/store';
import { UsageError } from './exit-codes';

/** How VALUE is read: JSON when it parses (`auto`), always a string, or JSON required. */
export type ValueMode = 'auto' | 'string' | 'json';

/**
 * The value `put` stores from its VALUE text: in `auto` mode the parsed JSON when the text
 * is valid JSON (`42`, `true`, `{"a":1}`, `"quoted"`), else the text itself as a string;
 * `string` keeps the text; `json` throws a UsageError when it is not JSON.
 */
export function parseValue(text: string, mode: ValueMode): JsonValue {
  if (mode === 'string') return text;
  try {
    return JSON.parse(text) as JsonValue;
  } catch (error) {
    if (mode === 'json') throw new UsageError(`VALUE is not valid JSON (--json): ${(error as Error).message}`);
    return text;
  }
}

/** stdin as VALUE (`-`): one trailing newline, as `echo` adds, is not part of the value. */
export function stdinValueText(text: string): string {
  return text.replace(/\r?\n$/, '');
}
