import { MAX_REASON_CHARS, refusalMessage } from './refusal-message';

describe('refusalMessage', () => {
  it("names the status and the follower's reason, cut to a bound, and only a string reason", () => {
    expect(refusalMessage(401, 'wrong x-cluster-token')).toBe('HTTP 401: wrong x-cluster-token');
    expect(refusalMessage(503, undefined)).toBe('HTTP 503');
    expect(refusalMessage(503, { nested: 'x' })).toBe('HTTP 503');
    expect(refusalMessage(413, 'r'.repeat(70_000))).toBe(`HTTP 413: ${'r'.repeat(MAX_REASON_CHARS)}…`);
  });
});
