import pino, { type Logger } from 'pino';
import type { NodeConfig } from './config';

/** One JSON line per event, each carrying the node's name. */
export function createLogger(config: Pick<NodeConfig, 'nodeName' | 'logLevel'>, destination?: pino.DestinationStream): Logger {
  return pino({ level: config.logLevel, base: { node: config.nodeName } }, destination ?? pino.destination({ sync: true }));
}

export type { Logger } from 'pino';
