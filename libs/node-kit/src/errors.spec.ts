import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ERROR_STATUS, KvError } from './errors';

describe('error codes', () => {
  it('map to client or server error statuses', () => {
    for (const status of Object.values(ERROR_STATUS)) expect(status >= 400 && status < 600).toBe(true);
    expect(new KvError('QUORUM_NOT_REACHED', 'x').status).toBe(503);
  });

  it('are each documented in the README error table', () => {
    const readme = readFileSync(path.join(__dirname, '../../../README.md'), 'utf8');
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      expect(readme).toMatch(new RegExp(`\\| \`${code}\` \\| ${status} \\|`));
    }
  });
});
