import http, { type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { answerClientErrorsWithJson } from './client-errors';

export interface ServeOptions {
  readonly port: number;
  readonly host: string;
  /** The ready line, given the URL actually bound (PORT=0 picks a free port). */
  readonly readyMessage: (url: string) => string;
  /** Runs once the server listens (a node's start-up work that must not run on a port it cannot bind). */
  readonly onListening?: () => void;
  /**
   * Runs as soon as a signal arrives, before waiting for requests in flight: ends responses
   * that never finish by themselves (watch streams, replication streams).
   */
  readonly onStopping?: () => void;
  /** Runs after the last in-flight request finished, before exit. */
  readonly onShutdown?: () => Promise<void> | void;
  /** Gives up on in-flight requests after this long. */
  readonly shutdownTimeoutMs?: number;
}

/**
 * Listens, logs one ready line, and on SIGTERM/SIGINT stops accepting, lets in-flight
 * requests finish, runs onShutdown and exits 0. A port that cannot be bound exits 1.
 */
export function serve(app: RequestListener, logger: Logger, options: ServeOptions): Server {
  // Not app.listen: Express 5 calls its callback on a listen error too, as if it were ready.
  const server = http.createServer(app);
  server.keepAliveTimeout = 65_000;
  answerClientErrorsWithJson(server, logger);
  const cannotListen = (error: NodeJS.ErrnoException) => {
    logger.fatal(`cannot start: ${listenFailure(options, error)}`);
    process.exit(1);
  };
  server.once('error', cannotListen);
  server.listen(options.port, options.host, () => {
    // Listening: a later error (say EMFILE on accept) is not a configuration problem, and
    // the server keeps serving the connections it has.
    server.off('error', cannotListen);
    server.on('error', (error: NodeJS.ErrnoException) => logger.error({ err: error }, `server error: ${error.code ?? error.message}`));
    const { port } = server.address() as AddressInfo;
    const shownHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
    logger.info({ port }, options.readyMessage(`http://${shownHost}:${port}`));
    options.onListening?.();
  });

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal} received: finishing requests in flight, then exiting`);
    options.onStopping?.();
    const force = setTimeout(() => {
      logger.warn('requests still in flight at the shutdown deadline; exiting anyway');
      process.exit(0);
    }, options.shutdownTimeoutMs ?? 10_000);
    force.unref();
    // Keep-alive connections whose request finishes after this point become idle later;
    // close them as they do, or server.close() would wait for the client to hang up.
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    sweep.unref();
    server.close(async () => {
      clearInterval(sweep);
      try {
        await options.onShutdown?.();
        logger.info('stopped');
        process.exit(0);
      } catch (error) {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      }
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return server;
}

/** Why the node cannot listen, naming the variable to change. */
export function listenFailure({ host, port }: Pick<ServeOptions, 'host' | 'port'>, error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'EADDRINUSE':
      return `PORT ${port}: already in use on ${host}`;
    case 'EACCES':
      return `PORT ${port}: not allowed to listen on it (ports below 1024 need privileges)`;
    case 'EADDRNOTAVAIL':
      return `HOST ${host}: not an address of this machine`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return `HOST ${host}: cannot be resolved to an address`;
    default:
      return `cannot listen on HOST ${host}, PORT ${port}: ${error.code ?? error.message}`;
  }
}

/**
 * Logs why a node could not start, in one line, and exits 1. An error that says it explains
 * itself (a system error on DATA_DIR, say) is logged without its stack; anything else is a
 * bug, and its stack goes into that line.
 */
export function exitOnStartFailure(logger: Logger, error: unknown): never {
  const explainsItself = (error as { explainsItself?: unknown } | null)?.explainsItself === true;
  logger.fatal(explainsItself ? {} : { err: error }, `cannot start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
