/**
 * Writer library for agents: streams a response into an interaction over the REST API, safely
 * across lost answers and service restarts.
 *
 * ```ts
 * import { SessionWriter } from 'session-sync/writer';
 *
 * const writer = new SessionWriter({ baseUrl: 'http://127.0.0.1:8080', apiKey: process.env.SESSION_SYNC_KEY! });
 * const reply = await writer.createInteraction(sessionId, 'Summarise the meeting'); // or writer.respond(sessionId, interactionId)
 * for await (const token of model.stream()) reply.write(token);                       // never blocks
 * await reply.complete();                                                              // or reply.fail('model crashed')
 * ```
 *
 * How it keeps the text exact:
 * - Every append carries `offset`, the UTF-8 byte length of the response the writer believes
 *   it extends; the service commits it only at that length and otherwise answers 409 with the
 *   current one. So a retried append can never be applied twice: when a 409 says the length is
 *   already `offset + bytes`, the earlier try committed and is not sent again.
 * - One request per interaction is in flight at a time, in order; text written meanwhile is
 *   coalesced into the next request, so a fast producer costs one request per round trip,
 *   not one per token. `Prefer: return=minimal` keeps the answers small.
 * - Connection refused or reset, timeouts, 408, 429, 5xx (503 with `Retry-After` included)
 *   are retried with jittered exponential backoff (never sooner than `Retry-After`), for up to
 *   `maxRetryTimeMs` of consecutive failure. Other answers (400, 401, 403, 404, 413, a 409 with
 *   an unexpected offset) fail the stream: retrying cannot mend them.
 *
 * It assumes it is the only writer of the response it streams: a 409 whose offset is neither
 * the one it sent nor that plus its text means someone else changed the response, and the
 * stream fails with a {@link WriteConflictError} instead of guessing.
 *
 * Node ≥ 22 (global `fetch`) or any runtime with `fetch`, `AbortSignal.timeout` and `TextEncoder`.
 */
import { API_PREFIX, type InteractionState } from '../protocol/protocol.js';

export interface SessionWriterOptions {
  /** `http(s)://host[:port]` of the service. */
  baseUrl: string;
  /** API key, sent as `Authorization: Bearer`. */
  apiKey: string;
  /** Bound on one request, ms; a request without an answer by then is retried. Default 10000. */
  requestTimeoutMs?: number;
  /** Backoff floor and ceiling, ms. Defaults 100 and 5000. */
  minRetryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Give up after failing this long without a success, ms. Default 120000; `Infinity` never. */
  maxRetryTimeMs?: number;
  /** Largest text per request, in UTF-8 bytes (keep it well under the service's BODY_LIMIT). Default 65536. */
  maxChunkBytes?: number;
  /** Called before each retry, for logging. */
  onRetry?: (info: RetryInfo) => void;
  /** Injectable for tests. */
  fetch?: typeof fetch;
  random?: () => number;
}

export interface RetryInfo {
  /** What was being done, e.g. `append 120 bytes at offset 3000`. */
  what: string;
  /** Why it is retried: a status code or the network error's message. */
  reason: string;
  attempt: number;
  delayMs: number;
}

export interface RespondOptions {
  /**
   * UTF-8 byte length of the response as it is now (0 for a new interaction, the usual case).
   * The first append is sent at this offset.
   */
  offset?: number;
  /** Set the interaction's state to `editing` with the first append. Default true. */
  markEditing?: boolean;
}

/** The service answered with an error that retrying cannot mend. */
export class WriteError extends Error {
  constructor(
    message: string,
    /** HTTP status, or 0 when the service could not be reached in time. */
    readonly status: number,
    /** The answer's body, when it had one. */
    readonly body?: unknown,
  ) {
    super(message);
    this.name = 'WriteError';
  }
}

/** Someone else changed the response: its length is not what this writer's appends make it. */
export class WriteConflictError extends WriteError {
  constructor(
    message: string,
    /** The offset the writer sent. */
    readonly expected: number,
    /** The service's current length. */
    readonly current: number,
  ) {
    super(message, 409);
    this.name = 'WriteConflictError';
  }
}

interface Answer {
  status: number;
  body: unknown;
  retryAfterMs: number | null;
}

/** Network failures that prove the request never reached the service. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/** Thrown by a single attempt when no answer came back; `maybeSent` when it may have been applied. */
class NoAnswer extends Error {
  constructor(message: string, readonly maybeSent: boolean) {
    super(message);
  }
}

const encoder = new TextEncoder();

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

/** UTF-8 byte length of a well-formed string (what the service counts `offset` in). */
export function utf8Length(text: string): number {
  return encoder.encode(text).length;
}

/** Lone surrogates cannot be stored as UTF-8: replace them as the encoder would, with U+FFFD. */
function wellFormed(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** Seconds or an HTTP date, as `Retry-After` allows; null when absent or unreadable. */
function parseRetryAfter(value: string | null): number | null {
  if (value === null || value.trim() === '') return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Talks to one service with one key; makes {@link ResponseStream}s. */
export class SessionWriter {
  private readonly base: string;
  private readonly fetchFn: typeof fetch;
  readonly options: Required<Omit<SessionWriterOptions, 'onRetry' | 'fetch' | 'baseUrl' | 'apiKey'>> &
    Pick<SessionWriterOptions, 'onRetry'>;
  /** Interactions this writer created: a lost answer is never mistaken for one of these. */
  private readonly created = new Set<string>();

  constructor(private readonly init: SessionWriterOptions) {
    const url = new URL(init.baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`baseUrl must be http(s)://…, got ${init.baseUrl}`);
    if (!init.apiKey) throw new TypeError('apiKey is required');
    this.base = `${url.origin}${API_PREFIX}`;
    this.fetchFn = init.fetch ?? globalThis.fetch;
    if (typeof this.fetchFn !== 'function') throw new TypeError('no fetch: use Node ≥ 22 or pass options.fetch');
    this.options = {
      requestTimeoutMs: init.requestTimeoutMs ?? 10_000,
      minRetryDelayMs: init.minRetryDelayMs ?? 100,
      maxRetryDelayMs: init.maxRetryDelayMs ?? 5_000,
      maxRetryTimeMs: init.maxRetryTimeMs ?? 120_000,
      maxChunkBytes: init.maxChunkBytes ?? 65_536,
      random: init.random ?? Math.random,
      onRetry: init.onRetry,
    };
    if (!(this.options.maxChunkBytes >= 4)) throw new TypeError('maxChunkBytes must be at least 4 (one character)');
  }

  /**
   * Adds a prompt to the session (`POST …/interactions`) and returns the stream for its
   * response. A lost answer is resolved by reading the session: the newest interaction, if it
   * holds this prompt untouched and is not one this writer made before, is taken to be it;
   * otherwise the prompt is sent again. (Only an identical prompt posted by someone else at
   * the same instant could fool this.)
   */
  async createInteraction(sessionId: string, prompt: string, options: Omit<RespondOptions, 'offset'> = {}): Promise<ResponseStream> {
    const path = `/sessions/${encodeURIComponent(sessionId)}/interactions`;
    const id = await this.retrying(`create an interaction in ${sessionId}`, async (uncertain) => {
      if (uncertain) {
        const adopted = await this.findUnanswered(sessionId, prompt);
        if (adopted) return { done: true, value: adopted };
      }
      const answer = await this.send('POST', path, { prompt_message: prompt });
      if (answer.status === 201) return { done: true, value: (answer.body as { id: string }).id };
      return { done: false, answer };
    });
    this.created.add(id);
    return new ResponseStream(this, sessionId, id, { ...options, offset: 0 });
  }

  /** The stream for the response of an interaction that exists (for instance a user's prompt). */
  respond(sessionId: string, interactionId: string, options: RespondOptions = {}): ResponseStream {
    return new ResponseStream(this, sessionId, interactionId, options);
  }

  private async findUnanswered(sessionId: string, prompt: string): Promise<string | null> {
    const answer = await this.send('GET', `/sessions/${encodeURIComponent(sessionId)}`);
    if (RETRYABLE_STATUS.has(answer.status)) throw new NoAnswer(`reading the session answered ${answer.status}`, false);
    // Anything else (a 404, say) the POST itself will report.
    if (answer.status !== 200) return null;
    const last = (answer.body as { interactions?: { id: string; prompt_message: string; response_message: string; state: string }[] }).interactions?.at(-1);
    const mine = last && last.prompt_message === prompt && last.state === 'waiting' && last.response_message === '' && !this.created.has(last.id);
    return mine ? last.id : null;
  }

  /**
   * Runs `attempt` until it is done, retrying what is worth retrying. `attempt` gets
   * `uncertain` = an earlier try may have been applied without its answer arriving.
   * @internal
   */
  async retrying<T>(what: string, attempt: (uncertain: boolean) => Promise<{ done: true; value: T } | { done: false; answer: Answer }>): Promise<T> {
    let uncertain = false;
    let failingSince: number | null = null;
    for (let n = 0; ; n++) {
      let reason: string;
      let floor = 0;
      try {
        const result = await attempt(uncertain);
        if (result.done) return result.value;
        const { status, body, retryAfterMs } = result.answer;
        if (!RETRYABLE_STATUS.has(status)) throw new WriteError(`${what}: ${status} ${describe(body)}`, status, body);
        reason = `status ${status}`;
        floor = retryAfterMs ?? 0;
      } catch (error) {
        if (!(error instanceof NoAnswer)) throw error;
        uncertain ||= error.maybeSent;
        reason = error.message;
      }
      failingSince ??= Date.now();
      const { minRetryDelayMs, maxRetryDelayMs, maxRetryTimeMs, random, onRetry } = this.options;
      if (Date.now() - failingSince >= maxRetryTimeMs) {
        throw new WriteError(`${what}: still failing after ${maxRetryTimeMs} ms (${reason})`, 0);
      }
      const ceiling = Math.min(maxRetryDelayMs, minRetryDelayMs * 2 ** Math.min(n, 20));
      const delayMs = Math.max(floor, Math.floor(random() * ceiling));
      onRetry?.({ what, reason, attempt: n + 1, delayMs });
      await sleep(delayMs);
    }
  }

  /** One request. Resolves with any HTTP answer; throws {@link NoAnswer} when none came. @internal */
  async send(method: string, path: string, body?: unknown): Promise<Answer> {
    let res: Response;
    try {
      res = await this.fetchFn(`${this.base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.init.apiKey}`,
          prefer: 'return=minimal',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.requestTimeoutMs),
      });
    } catch (error) {
      const code = (error as { cause?: { code?: string } }).cause?.code;
      const timedOut = (error as Error).name === 'TimeoutError';
      const message = timedOut ? `no answer within ${this.options.requestTimeoutMs} ms` : `${(error as Error).message}${code ? ` (${code})` : ''}`;
      throw new NoAnswer(message, !(code && NOT_SENT_CODES.has(code)));
    }
    let text: string;
    try {
      text = await res.text();
    } catch (error) {
      // The status arrived but the body did not: for a success that still means applied.
      if (res.ok) return { status: res.status, body: undefined, retryAfterMs: null };
      throw new NoAnswer(`answer cut off: ${(error as Error).message}`, true);
    }
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: res.status, body: parsed, retryAfterMs: parseRetryAfter(res.headers.get('retry-after')) };
  }
}

function describe(body: unknown): string {
  const message = (body as { message?: unknown } | undefined)?.message;
  if (Array.isArray(message)) return message.join('; ');
  if (typeof message === 'string') return message;
  return typeof body === 'string' ? body.slice(0, 200) : JSON.stringify(body ?? '');
}

interface Ending {
  state: Extract<InteractionState, 'complete' | 'error'>;
  error?: string;
}

/**
 * The response of one interaction, streamed in order. `write` queues text and returns at
 * once; requests go out one at a time, each carrying everything written since the previous
 * one left. `complete()` / `fail()` send what is left together with the final state.
 */
export class ResponseStream {
  private pending = '';
  private committed: number;
  private editing: boolean;
  private running = false;
  private ending: Ending | null = null;
  private ended = false;
  private failure: Error | null = null;
  private waiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private committedRequests = 0;

  constructor(
    private readonly writer: SessionWriter,
    readonly sessionId: string,
    readonly interactionId: string,
    options: RespondOptions = {},
  ) {
    const offset = options.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) throw new TypeError(`offset must be an integer ≥ 0, got ${offset}`);
    this.committed = offset;
    this.editing = options.markEditing ?? true;
  }

  /** UTF-8 bytes of the response known to be committed. */
  get committedBytes(): number {
    return this.committed;
  }

  /** Requests that committed (retries not counted): for logs. */
  get requests(): number {
    return this.committedRequests;
  }

  /** Set once the stream failed; every later call throws or rejects with it. */
  get error(): Error | null {
    return this.failure;
  }

  /** Queues text (any length, any split of characters, surrogate pairs included). Never blocks. */
  write(text: string): void {
    if (this.failure) throw this.failure;
    if (this.ending) throw new Error('write() after complete() or fail()');
    if (typeof text !== 'string') throw new TypeError('write() takes a string');
    if (text === '') return;
    this.pending += text;
    this.kick();
  }

  /** Resolves once everything written so far (and since) is committed. */
  flush(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.running && this.pending === '' && !this.ending) return Promise.resolve();
    if (this.ended) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.kick();
    });
  }

  /** Sends what is left and sets the state `complete`. */
  complete(): Promise<void> {
    return this.end({ state: 'complete' });
  }

  /** Sends what is left and sets the state `error` with this message. */
  fail(message: string): Promise<void> {
    return this.end({ state: 'error', error: message });
  }

  private end(ending: Ending): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.ending) return Promise.reject(new Error('the stream was already completed or failed'));
    this.ending = ending;
    return this.flush();
  }

  private kick(): void {
    if (this.running || this.failure) return;
    this.running = true;
    void this.run();
  }

  private async run(): Promise<void> {
    try {
      while (this.sendable()) await this.sendNext();
      this.settle(null);
    } catch (error) {
      this.failure = error as Error;
      this.settle(this.failure);
    } finally {
      this.running = false;
    }
  }

  /** Something to send: an ending, or text other than a lone half pair waiting for its other half. */
  private sendable(): boolean {
    if (this.ending) return !this.ended;
    if (this.pending === '') return false;
    return !(this.pending.length === 1 && isHighSurrogate(this.pending.charCodeAt(0)));
  }

  private settle(error: Error | null): void {
    for (const { resolve, reject } of this.waiters.splice(0)) {
      if (error) reject(error);
      else resolve();
    }
  }

  /** Takes at most maxChunkBytes of whole characters; holds back a trailing half pair unless ending. */
  private take(): string {
    const max = this.writer.options.maxChunkBytes;
    let end = 0;
    let bytes = 0;
    const s = this.pending;
    while (end < s.length) {
      const c = s.charCodeAt(end);
      const pair = isHighSurrogate(c) && end + 1 < s.length && (s.charCodeAt(end + 1) & 0xfc00) === 0xdc00;
      const size = pair ? 4 : c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
      if (bytes + size > max) break;
      bytes += size;
      end += pair ? 2 : 1;
    }
    // A high surrogate at the very end may get its other half from the next write().
    if (end === s.length && end > 0 && !this.ending) {
      if (isHighSurrogate(s.charCodeAt(end - 1))) end -= 1;
    }
    const text = s.slice(0, end);
    this.pending = s.slice(end);
    return text;
  }

  private async sendNext(): Promise<void> {
    const text = wellFormed(this.take());
    const ending = this.pending === '' && this.ending ? this.ending : null;
    const bytes = utf8Length(text);
    const offset = this.committed;
    const body: Record<string, unknown> = {};
    if (text !== '') Object.assign(body, { append: text, offset });
    if (ending) Object.assign(body, ending);
    else if (this.editing) body.state = 'editing';
    if (Object.keys(body).length === 0) return;

    const path = `/sessions/${encodeURIComponent(this.sessionId)}/interactions/${encodeURIComponent(this.interactionId)}`;
    const what = text !== '' ? `append ${bytes} bytes at offset ${offset} to ${this.interactionId}` : `set ${this.interactionId} ${ending?.state}`;
    await this.writer.retrying(what, async () => {
      const answer = await this.writer.send('PATCH', path, body);
      if (answer.status === 200) return { done: true, value: undefined };
      if (answer.status === 409 && text !== '') {
        const current = (answer.body as { offset?: unknown } | undefined)?.offset;
        // An earlier try of this very request committed; its answer was lost.
        if (current === offset + bytes) return { done: true, value: undefined };
        // Not applied (a 409 should not say so, but then sending again is right).
        if (current === offset) throw new NoAnswer('409 at the offset sent: not applied', false);
        if (typeof current === 'number') {
          throw new WriteConflictError(
            `${what}: the response is ${current} bytes long, not ${offset} or ${offset + bytes}: someone else changed it`,
            offset,
            current,
          );
        }
      }
      return { done: false, answer };
    });
    this.committed = offset + bytes;
    this.committedRequests += 1;
    this.editing = false;
    if (ending) this.ended = true;
  }
}
