import { ConfigError, createLogger, exitOnStartFailure, parseLeaderConfig, serve } from '@kv/node-kit';
import { createLeaderNode } from './leader-node';

async function main(): Promise<void> {
  let config;
  try {
    config = parseLeaderConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`leader: ${error.message}\n`);
    process.exit(1);
  }
  const logger = createLogger(config);
  let node;
  try {
    node = await createLeaderNode(config, logger, { defaultMetrics: true, onFatal: () => process.exit(1) });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`leader: ${error.message}\n`);
      process.exit(1);
    }
    exitOnStartFailure(logger, error);
  }
  serve(node.app, logger, {
    port: config.port,
    host: config.host,
    readyMessage: (url) =>
      `leader ready on ${url}: ${config.followers.length} followers, write quorum ${config.writeQuorum}, ` +
      `delay ${config.minDelayMs}-${config.maxDelayMs} ms, replication timeout ${config.replicationTimeoutMs} ms` +
      (config.minFollowersToWrite > 0 ? `, min followers to write ${config.minFollowersToWrite} (max lag ${config.minFollowersMaxLagMs} ms)` : ''),
    onListening: () => node.start(),
    onStopping: () => node.closeWatchers(),
    onShutdown: () => node.close(),
  });
}

void main();
