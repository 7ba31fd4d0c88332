import { ConfigError, createLogger, parseFollowerConfig, serve } from '@kv/node-kit';
import { createFollowerNode } from './follower-node';

function main(): void {
  let config;
  try {
    config = parseFollowerConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`follower: ${error.message}\n`);
    process.exit(1);
  }
  const logger = createLogger(config);
  const node = createFollowerNode(config, logger, { defaultMetrics: true });
  serve(node.app, logger, {
    port: config.port,
    host: config.host,
    readyMessage: (url) => `follower ready on ${url}: leader ${config.leaderUrl ?? '(not set)'}`,
    onShutdown: () => node.close(),
  });
}

main();
