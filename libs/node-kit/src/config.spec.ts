import { ConfigError, parseFollowerConfig, parseLeaderConfig } from './config';

const followers = 'http://f1:8001,http://f2:8002/,http://f3:8003,http://f4:8004,http://f5:8005';

function problems(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('parseLeaderConfig', () => {
  it('applies the contract defaults', () => {
    expect(parseLeaderConfig({})).toEqual({
      role: 'leader',
      nodeName: 'leader',
      port: 8000,
      host: '0.0.0.0',
      followers: [],
      writeQuorum: 0,
      minDelayMs: 0,
      maxDelayMs: 0,
      replicationTimeoutMs: 5000,
      minFollowersToWrite: 0,
      minFollowersMaxLagMs: 10000,
      replicationStream: 'on',
      clusterToken: null,
      dataDir: null,
      fsync: 'always',
      logLevel: 'info',
      tombstoneRetentionMs: 60_000,
    });
  });

  it('reads TOMBSTONE_RETENTION_MS on both roles, refusing what is not a non-negative integer', () => {
    expect(parseLeaderConfig({ TOMBSTONE_RETENTION_MS: '0' }).tombstoneRetentionMs).toBe(0);
    expect(parseFollowerConfig({ TOMBSTONE_RETENTION_MS: '1500' }).tombstoneRetentionMs).toBe(1500);
    expect(() => parseFollowerConfig({ TOMBSTONE_RETENTION_MS: '-1' })).toThrow(/TOMBSTONE_RETENTION_MS/);
  });

  it('caps the default quorum of 3 at the follower count and trims trailing slashes', () => {
    expect(parseLeaderConfig({ FOLLOWERS: 'http://a:1,http://b:2' }).writeQuorum).toBe(2);
    const config = parseLeaderConfig({ FOLLOWERS: followers });
    expect(config.writeQuorum).toBe(3);
    expect(config.followers[1]).toBe('http://f2:8002');
  });

  it('reads every variable', () => {
    const config = parseLeaderConfig({
      PORT: '9000', HOST: '127.0.0.1', FOLLOWERS: followers, WRITE_QUORUM: '5', MIN_DELAY_MS: '50',
      MAX_DELAY_MS: '800', REPLICATION_TIMEOUT_MS: '100', CLUSTER_TOKEN: 's3cret', DATA_DIR: '/data', LOG_LEVEL: 'debug',
      NODE_NAME: 'boss', FSYNC: 'batch', MIN_FOLLOWERS_TO_WRITE: '5', MIN_FOLLOWERS_MAX_LAG_MS: '1500',
      REPLICATION_STREAM: 'off',
    });
    expect(config).toMatchObject({ minFollowersToWrite: 5, minFollowersMaxLagMs: 1500, replicationStream: 'off' });
    expect(config).toMatchObject({ port: 9000, host: '127.0.0.1', writeQuorum: 5, minDelayMs: 50, maxDelayMs: 800,
      replicationTimeoutMs: 100, clusterToken: 's3cret', dataDir: '/data', logLevel: 'debug', nodeName: 'boss', fsync: 'batch' });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
    [{ PORT: 'http' }, /PORT must be a TCP port number/],
    [{ PORT: '70000' }, /PORT must be a TCP port number/],
    [{ FOLLOWERS: 'f1:8001' }, /FOLLOWERS must hold http\(s\) URLs \(got "f1:8001"\)/],
    [{ FOLLOWERS: 'http://a:1,http://a:1' }, /FOLLOWERS lists a URL twice/],
    [{ FOLLOWERS: followers, WRITE_QUORUM: '6' }, /WRITE_QUORUM must be an integer from 0 to 5, the number of FOLLOWERS \(got "6"\)/],
    [{ FOLLOWERS: followers, WRITE_QUORUM: 'all' }, /WRITE_QUORUM must be/],
    [{ WRITE_QUORUM: '1' }, /WRITE_QUORUM must be an integer from 0 to 0/],
    [{ MIN_DELAY_MS: '800', MAX_DELAY_MS: '50' }, /MIN_DELAY_MS \(800\) must not exceed MAX_DELAY_MS \(50\)/],
    [{ MIN_DELAY_MS: '-1' }, /MIN_DELAY_MS must be/],
    [{ REPLICATION_TIMEOUT_MS: '0' }, /REPLICATION_TIMEOUT_MS must be/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of/],
    [{ FOLLOWERS: followers, MIN_FOLLOWERS_TO_WRITE: '6' }, /MIN_FOLLOWERS_TO_WRITE must be an integer from 0 \(off\) to 5, the number of FOLLOWERS \(got "6"\)/],
    [{ FOLLOWERS: followers, MIN_FOLLOWERS_TO_WRITE: '-1' }, /MIN_FOLLOWERS_TO_WRITE must be/],
    [{ FOLLOWERS: followers, MIN_FOLLOWERS_TO_WRITE: '2.5' }, /MIN_FOLLOWERS_TO_WRITE must be/],
    [{ MIN_FOLLOWERS_TO_WRITE: '1' }, /MIN_FOLLOWERS_TO_WRITE must be an integer from 0 \(off\) to 0/],
    [{ MIN_FOLLOWERS_MAX_LAG_MS: '0' }, /MIN_FOLLOWERS_MAX_LAG_MS must be an integer from 1 to 3600000/],
    [{ MIN_FOLLOWERS_MAX_LAG_MS: 'soon' }, /MIN_FOLLOWERS_MAX_LAG_MS must be/],
    [{ MIN_FOLLOWERS_MAX_LAG_MS: '-5' }, /MIN_FOLLOWERS_MAX_LAG_MS must be/],
    [{ REPLICATION_STREAM: 'yes' }, /REPLICATION_STREAM must be one of/],
    [{ FSYNC: 'sometimes' }, /FSYNC must be one of always, batch, off/],
  ])('refuses %j naming the variable', (env, message) => {
    expect(problems(() => parseLeaderConfig(env))).toMatch(message);
  });

  it('reports every problem at once, on one line', () => {
    const message = problems(() => parseLeaderConfig({ PORT: 'x', MIN_DELAY_MS: 'y' }));
    expect(message).toMatch(/PORT/);
    expect(message).toMatch(/MIN_DELAY_MS/);
    expect(message).not.toMatch(/\n/);
  });
});

describe('parseFollowerConfig', () => {
  it('reads LEADER_URL and refuses one that is not a URL', () => {
    expect(parseFollowerConfig({ LEADER_URL: 'http://leader:8000/' }).leaderUrl).toBe('http://leader:8000');
    expect(parseFollowerConfig({}).leaderUrl).toBeNull();
    expect(problems(() => parseFollowerConfig({ LEADER_URL: 'leader' }))).toMatch(/LEADER_URL/);
  });

  it('refuses a list where one LEADER_URL belongs (URL parsing alone takes it as one host)', () => {
    for (const value of ['http://a:8000,http://b:8000', 'http://a:8000 http://b:8000']) {
      expect(problems(() => parseFollowerConfig({ LEADER_URL: value }))).toBe(`invalid configuration: LEADER_URL must hold one http(s) URL (got ${JSON.stringify(value)})`);
    }
  });
});
