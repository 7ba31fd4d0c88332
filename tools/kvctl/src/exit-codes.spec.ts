import { CommanderError } from 'commander';
import { KvClientError, errorFromAnswer, UnreachableError } from '@kv/client';
import { EXIT, UsageError, describeError, exitCodeFor } from './exit-codes';

describe('exit codes and error lines', () => {
  const answer = (status: number, body: Record<string, unknown>) => errorFromAnswer(status, body, 'http://n');

  it('maps each failure to its documented code', () => {
    expect(exitCodeFor(new UsageError('x'))).toBe(EXIT.USAGE);
    expect(exitCodeFor(new CommanderError(1, 'commander.unknownOption', 'error: unknown option'))).toBe(EXIT.USAGE);
    expect(exitCodeFor(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'))).toBe(EXIT.OK);
    expect(exitCodeFor(answer(400, { error: 'bad key', code: 'INVALID_KEY' }))).toBe(EXIT.USAGE);
    expect(exitCodeFor(answer(404, { error: 'absent', code: 'KEY_NOT_FOUND' }))).toBe(EXIT.KEY_NOT_FOUND);
    expect(exitCodeFor(answer(503, { error: 'q', code: 'QUORUM_NOT_REACHED', version: 7 }))).toBe(EXIT.QUORUM_NOT_REACHED);
    expect(exitCodeFor(answer(412, { error: 'm', code: 'VERSION_MISMATCH', version: 2 }))).toBe(EXIT.VERSION_MISMATCH);
    expect(exitCodeFor(new UnreachableError('UNREACHABLE', 'x', null))).toBe(EXIT.UNREACHABLE);
    expect(exitCodeFor(new KvClientError('TIMEOUT', 'x', null))).toBe(EXIT.UNEXPECTED);
    expect(exitCodeFor(answer(500, { error: 'boom', code: 'INTERNAL' }))).toBe(EXIT.UNEXPECTED);
    expect(exitCodeFor(new TypeError('bug'))).toBe(EXIT.UNEXPECTED);
  });

  it('describes each in one line, the quorum failure with the version that stays applied', () => {
    expect(describeError(answer(404, { error: 'absent', code: 'KEY_NOT_FOUND' }), 'k')).toBe('kvctl: key "k" not found');
    expect(describeError(answer(503, { error: 'q', code: 'QUORUM_NOT_REACHED', key: 'k', version: 7, acks: 1, quorum: 3 }), 'k')).toBe(
      'kvctl: quorum not reached for "k": 1 of 3 follower acks; the write stays applied on the leader as version 7 and keeps replicating',
    );
    expect(describeError(answer(412, { error: 'm', code: 'VERSION_MISMATCH', version: 2 }), 'k')).toBe(
      'kvctl: version mismatch for "k": its current version is 2 (0: absent); nothing was changed',
    );
    expect(describeError(new UnreachableError('UNREACHABLE', 'x', null, { failures: ['http://a: cannot connect (ECONNREFUSED)'] }))).toBe(
      'kvctl: no endpoint reachable: http://a: cannot connect (ECONNREFUSED)',
    );
    const bug = new Error('two\nlines');
    expect(describeError(bug)).toBe('kvctl: Error: two lines');
  });
});
