import { ConfigError, createLogger, exitOnStartFailure, parseFollowerConfig, serve } from '@kv/node-kit';
import { createFollowerNode } from './follower-node';

async function main(): Promise<void> {
  let config;
  try {
    config = parseFollowerConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`follower: ${error.message}\n`);
    process.exit(1);
  }
  const logger = createLogger(config);
  let node;
  try {
    node = await createFollowerNode(config, logger, { defaultMetrics: true, onFatal: () => process.exit(1) });
  } catch (error) {
    exitOnStartFailure(logger, error);
  }
  serve(node.app, logger, {
    port: config.port,
    host: config.host,
    readyMessage: (url) => `follower ready on ${url}: leader ${config.leaderUrl ?? '(not set)'}`,
    onStopping: () => {
      node.closeWatchers();
      node.stopStreams();
    },
    onShutdown: () => node.close(),
  });
}

void main();
