import http from 'node:http';
import https from 'node:https';
import { CLUSTER_TOKEN_HEADER, REPLICATION_BODY_LIMIT_BYTES, REPLICATION_STREAM_PATH, entryJson, type ReplicateRequest } from '@kv/protocol';
import { refusalMessage } from './refusal-message';

/** What a follower answered to one replication request: the HTTP status and the parsed body. */
export interface StreamAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** The follower has no `/replicate/stream` (an older version): the caller sends this request as a POST. */
export class StreamUnsupported extends Error {}

/**
 * JSON.stringify(request), with each entry serialized once for every follower it goes to
 * (five followers get the same entry objects, in batches cut differently): protocol's
 * entryJson, which the leader's byte budget already filled when the write was made.
 */
export function createRequestSerializer(): (request: ReplicateRequest) => string {
  return (request) => {
    const { entries, ...rest } = request;
    const head = JSON.stringify(rest);
    const parts = new Array<string>(entries.length);
    for (let i = 0; i < entries.length; i++) parts[i] = entryJson(entries[i]);
    return `${head.slice(0, -1)}${head.length > 2 ? ',' : ''}"entries":[${parts.join(',')}]}`;
  };
}

/**
 * `text` as a JSON object; null when it is not JSON or not an object (`null`, a number, an
 * array): a follower's answer is read as an object, and anything else must not be touched.
 */
function parseObject(text: string): Record<string, unknown> | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
}

/** An answer line is a follower's position or a refusal: never this long. */
const MAX_ANSWER_LINE_BYTES = 64 * 1024;
/** A stream is replaced by a fresh one after this long, well within Node's server request timeout (300 s). */
const STREAM_MAX_AGE_MS = 60_000;
/** A retired stream whose frames are all answered is dropped if the follower has not ended it this long after (ms). */
export const RETIRED_LINGER_MS = 5_000;

/** What every stream of one leader shares. */
export interface StreamOptions {
  readonly clusterToken: string | null;
  /** How long a retired stream may stay open once its frames are answered (ms); RETIRED_LINGER_MS by default. */
  readonly retiredLingerMs?: number;
}

interface PendingFrame {
  readonly resolve: (answer: StreamAnswer) => void;
  readonly reject: (error: Error) => void;
  /** How long the follower may take over this frame once the frames ahead of it are answered (ms). */
  readonly timeoutMs: number;
}

/**
 * One long-lived `POST /replicate/stream` to one follower: requests go out as newline-delimited
 * JSON frames `{"id","requestId","body"}` and come back as `{"id","status","body"}` lines, so
 * many batches are in flight without a request each and frames written in one tick leave in
 * one write. Any failure of the stream (refused, reset, a frame unanswered within the timeout)
 * fails every frame in flight, as a failed request would, and the next send opens a new one.
 *
 * The follower applies frames in the order they were sent (it may answer a refusal sooner),
 * so a frame cannot be applied before the frames ahead of it: one deadline runs, the oldest
 * unanswered frame's, from when it became the oldest (sent, or the frame ahead answered). A
 * heartbeat behind a batch of several MiB waits for the batch's longer deadline, not its own
 * from its sending; a frame answered out of turn settles and leaves the deadline as it is.
 */
class StreamLink {
  private readonly request: http.ClientRequest;
  /** Frames in flight, oldest first (a Map keeps insertion order). */
  private readonly pending = new Map<number, PendingFrame>();
  private nextId = 1;
  private corked = false;
  private closed = false;
  /** The request is gone: closed by either end. */
  gone = false;
  /** The deadline running: the oldest frame's, or a retired stream's linger. */
  private deadline: NodeJS.Timeout | undefined;
  /** The id of the frame the deadline is for (0: none). */
  private deadlineFor = 0;
  private readonly openedAt = Date.now();

  constructor(
    follower: string,
    private readonly options: StreamOptions,
    private readonly onClosed: (link: StreamLink) => void,
  ) {
    const url = new URL(REPLICATION_STREAM_PATH, follower);
    this.request = (url.protocol === 'https:' ? https : http).request(url, {
      method: 'POST',
      // Its own connection: the stream holds it for its whole life.
      agent: false,
      headers: {
        'content-type': 'application/x-ndjson',
        ...(options.clusterToken ? { [CLUSTER_TOKEN_HEADER]: options.clusterToken } : {}),
      },
    });
    this.request.on('response', (response) => this.receive(response));
    this.request.on('error', (error: NodeJS.ErrnoException) => this.fail(new Error(error.code ? `${error.code}: ${error.message}` : error.message)));
    this.request.on('close', () => {
      this.gone = true;
      this.fail(new Error('ECONNRESET: the replication stream closed'));
    });
    this.request.flushHeaders();
  }

  /** Whether this link takes new frames: open and young enough. */
  get usable(): boolean {
    return !this.closed && Date.now() - this.openedAt < STREAM_MAX_AGE_MS;
  }

  /**
   * Sends one frame; its answer must come within `timeoutMs` (ms) of the frames ahead of it
   * being answered, or the whole stream fails.
   */
  send(requestId: string, body: string, timeoutMs: number): Promise<StreamAnswer> {
    const id = this.nextId++;
    const frame = `{"id":${id},"requestId":${JSON.stringify(requestId)},"body":${body}}\n`;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, timeoutMs });
      if (this.pending.size === 1) this.armDeadline();
      if (!this.corked) {
        // Frames of one tick (one pump of the replicator) leave in one write.
        this.corked = true;
        this.request.cork();
        process.nextTick(() => {
          this.corked = false;
          this.request.uncork();
        });
      }
      this.request.write(frame);
    });
  }

  /**
   * No new frames; the follower answers those in flight and then ends the stream. One it
   * has not ended `retiredLingerMs` after the last answer is dropped.
   */
  retire(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClosed(this);
    this.request.end();
    if (this.pending.size === 0) this.armDeadline();
  }

  /**
   * Runs the one deadline there is: the oldest frame's `timeoutMs` from now, or, with no
   * frame in flight, a retired stream's linger (an open stream waits for frames for ever).
   */
  private armDeadline(): void {
    clearTimeout(this.deadline);
    this.deadline = undefined;
    const oldest = this.pending.entries().next();
    if (!oldest.done) {
      const [id, frame] = oldest.value;
      this.deadlineFor = id;
      this.deadline = setTimeout(() => this.fail(new Error('timeout: no answer within the request timeout')), frame.timeoutMs);
    } else if (this.closed && !this.gone) {
      this.deadlineFor = 0;
      this.deadline = setTimeout(() => this.fail(new Error('the follower did not end a retired replication stream')), this.options.retiredLingerMs ?? RETIRED_LINGER_MS);
    }
  }

  /** Fails every frame in flight and drops the connection. */
  fail(error: Error): void {
    clearTimeout(this.deadline);
    this.deadline = undefined;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const frame of pending) frame.reject(error);
    if (!this.closed) {
      this.closed = true;
      this.onClosed(this);
    }
    if (!this.request.destroyed) this.request.destroy();
  }

  private receive(response: http.IncomingMessage): void {
    const status = response.statusCode ?? 0;
    response.setEncoding('utf8');
    if (status !== 200) {
      let text = '';
      response.on('data', (chunk: string) => {
        if (text.length < MAX_ANSWER_LINE_BYTES) text += chunk;
      });
      response.on('end', () => {
        if (status === 404) return this.fail(new StreamUnsupported(`${REPLICATION_STREAM_PATH} not served`));
        const reason = parseObject(text)?.error;
        this.fail(new Error(refusalMessage(status, reason)));
      });
      return;
    }
    let partial = '';
    response.on('data', (chunk: string) => {
      let start = 0;
      for (let newline = chunk.indexOf('\n'); newline >= 0; newline = chunk.indexOf('\n', start)) {
        const line = partial + chunk.slice(start, newline);
        partial = '';
        start = newline + 1;
        this.answer(line);
      }
      partial += chunk.slice(start);
      if (partial.length > MAX_ANSWER_LINE_BYTES) this.fail(new Error(`answer larger than ${MAX_ANSWER_LINE_BYTES} bytes`));
    });
    response.on('end', () => this.fail(new Error('ECONNRESET: the follower ended the replication stream')));
  }

  private answer(line: string): void {
    const frame = parseObject(line);
    if (frame === null) return this.fail(new Error('invalid answer from follower: a malformed stream frame'));
    const status = typeof frame.status === 'number' ? frame.status : 0;
    if (frame.id === null) {
      // A frame the follower could not even read (too large): the stream is gone with it.
      const reason = (frame.body as { error?: unknown } | undefined)?.error;
      return this.fail(new Error(refusalMessage(status, reason)));
    }
    const pending = typeof frame.id === 'number' ? this.pending.get(frame.id) : undefined;
    if (!pending) return;
    this.pending.delete(frame.id as number);
    if (frame.id === this.deadlineFor) this.armDeadline();
    pending.resolve({ status, body: frame.body });
  }
}

/**
 * The replication streams of one leader, one per follower, opened on first use and again
 * after a failure. `send` resolves with the follower's status and answer body, or rejects
 * as a failed HTTP request would (StreamUnsupported when the follower has no stream route).
 */
export class ReplicationStreams {
  private readonly links = new Map<string, StreamLink>();
  /** Streams retired (too old) whose follower has not ended them yet: `close()` drops them too. */
  private readonly retired = new Set<StreamLink>();
  private readonly serialize = createRequestSerializer();

  constructor(private readonly options: StreamOptions) {}

  /**
   * Sends `request` as one frame on `follower`'s stream. `timeoutMs` is the frame's deadline
   * (ms): the caller gives a batch the time a POST of it would get (http-transport's
   * `requestTimeout`, longer per MiB carried), so a frame and a POST time out alike.
   */
  send(follower: string, request: ReplicateRequest, requestId: string, timeoutMs: number): Promise<StreamAnswer> {
    const body = this.serialize(request);
    if (body.length > REPLICATION_BODY_LIMIT_BYTES && Buffer.byteLength(body, 'utf8') > REPLICATION_BODY_LIMIT_BYTES) {
      return Promise.reject(new Error(`request body larger than maxBodyLength (${REPLICATION_BODY_LIMIT_BYTES} bytes)`));
    }
    let link = this.links.get(follower);
    if (link && !link.usable) {
      link.retire();
      for (const old of this.retired) if (old.gone) this.retired.delete(old);
      this.retired.add(link);
      link = undefined;
    }
    if (!link) {
      const opened = new StreamLink(follower, this.options, (closed) => {
        if (this.links.get(follower) === closed) this.links.delete(follower);
      });
      this.links.set(follower, opened);
      link = opened;
    }
    return link.send(requestId, body, timeoutMs);
  }

  close(): void {
    for (const link of [...this.links.values(), ...this.retired]) link.fail(new Error('the leader is stopping'));
    this.links.clear();
    this.retired.clear();
  }
}
