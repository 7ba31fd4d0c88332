import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { REQUEST_ID_HEADER } from '@kv/protocol';
import { ERROR_STATUS, type ErrorCode } from './errors';

const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

function classify(error: NodeJS.ErrnoException): { status: number; code: ErrorCode; message: string } {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: ERROR_STATUS.HEADERS_TOO_LARGE, code: 'HEADERS_TOO_LARGE', message: 'request headers larger than the server accepts' };
    case 'HPE_HEADER_TIMEOUT':
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: ERROR_STATUS.REQUEST_TIMEOUT, code: 'REQUEST_TIMEOUT', message: 'request not received in time' };
    default:
      // Framing the parser cannot trust: Transfer-Encoding with Content-Length, bad chunks,
      // an unknown method, bytes after a body-less request.
      return { status: ERROR_STATUS.INVALID_BODY, code: 'INVALID_BODY', message: `malformed HTTP request (${error.code ?? 'parse error'})` };
  }
}

/**
 * Node's HTTP parser refuses malformed requests before Express sees them and, by default,
 * answers with an empty body. This answers them with JSON like every other error (API.md:
 * never anything else), with a request id, and logs one warn line.
 */
export function answerClientErrorsWithJson(server: Server, logger: Logger): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    // Node's own rule (lib/_http_server.js, socketOnError): no answer when the client is
    // gone or an answer on this socket has started; bytes after it would corrupt it.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent === true) {
      socket.destroy();
      return;
    }
    const { status, code, message } = classify(error);
    const requestId = randomUUID();
    logger.warn({ requestId, code, status, parserError: error.code }, message);
    const body = JSON.stringify({ error: message, code });
    socket.end(
      `HTTP/1.1 ${status} ${REASONS[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n${REQUEST_ID_HEADER}: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
