import type { NextFunction, Request, RequestHandler, Response } from 'express';
import express from 'express';

/** The Content-Type values the fast path reads (lowercased); anything else goes to body-parser. */
const PLAIN_JSON = new Set(['application/json', 'application/json; charset=utf-8', 'application/json;charset=utf-8']);
const DIGITS = /^[0-9]{1,15}$/;

/**
 * The JSON body parser: body-parser's (express.json), with a fast path for what a client
 * sends on nearly every request, above all a streaming agent appending thousands of times a
 * second: `Content-Type: application/json` (UTF-8), a `Content-Length` within the limit, no
 * `Content-Encoding`. body-parser spends more on that than on the JSON itself (a content-type
 * parse, a type-is match, an iconv-lite decoder per request). The fast path reads the same
 * bytes into the same `req.body`, and fails like body-parser does (the errors carry its
 * `type`, which HttpErrorFilter answers by); every other request (chunked, compressed, another
 * charset, an empty or over-limit body, …) is body-parser's, unchanged.
 */
export function jsonBody(limit: number, fallback: RequestHandler = express.json({ limit })): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const headers = req.headers;
    const type = headers['content-type'];
    const length = headers['content-length'];
    if (
      type === undefined ||
      length === undefined ||
      headers['transfer-encoding'] !== undefined ||
      headers['content-encoding'] !== undefined ||
      !PLAIN_JSON.has(type.toLowerCase()) ||
      !DIGITS.test(length) ||
      Number(length) === 0 ||
      Number(length) > limit ||
      !req.readable
    ) {
      return fallback(req, res, next);
    }
    new BodyReader(req, Number(length), next).start();
  };
}

/** Reads one request body of a known length; one instance per request, no closures. */
class BodyReader {
  private readonly chunks: Buffer[] = [];
  private received = 0;
  private done = false;

  constructor(
    private readonly req: Request,
    private readonly length: number,
    private readonly next: NextFunction,
  ) {
    this.onData = this.onData.bind(this);
    this.onEnd = this.onEnd.bind(this);
    this.onError = this.onError.bind(this);
    this.onClose = this.onClose.bind(this);
  }

  start(): void {
    this.req.on('data', this.onData);
    this.req.on('end', this.onEnd);
    this.req.on('error', this.onError);
    this.req.on('close', this.onClose);
  }

  private onData(chunk: Buffer): void {
    this.received += chunk.length;
    this.chunks.push(chunk);
  }

  private onEnd(): void {
    if (this.received !== this.length) {
      return this.finish(bodyError(400, 'request size did not match content length', 'request.size.invalid'));
    }
    const text = decode(this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.received));
    let body: unknown;
    try {
      body = parseStrict(text);
    } catch (err) {
      return this.finish(bodyError(400, (err as Error).message, 'entity.parse.failed'));
    }
    this.req.body = body;
    this.finish();
  }

  private onError(): void {
    this.finish(bodyError(400, 'request aborted', 'request.aborted'));
  }

  private onClose(): void {
    this.finish(bodyError(400, 'request aborted', 'request.aborted'));
  }

  private finish(error?: Error): void {
    if (this.done) return;
    this.done = true;
    this.req.off('data', this.onData);
    this.req.off('end', this.onEnd);
    this.req.off('close', this.onClose);
    // The error listener stays: a late socket error must not become an uncaught exception.
    this.next(error);
  }
}

/** UTF-8 as body-parser decodes it (iconv-lite): invalid sequences replaced, a leading BOM dropped. */
function decode(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** body-parser's strict JSON: an object or an array at the top, the empty body read as `{}`. */
export function parseStrict(text: string): unknown {
  if (text.length === 0) return {};
  if (text[0] !== '{' && text[0] !== '[') {
    const first = /^[\x20\x09\x0a\x0d]*([^\x20\x09\x0a\x0d])/.exec(text)?.[1];
    if (first !== '{' && first !== '[') throw new SyntaxError('JSON body must be an object or an array');
  }
  return JSON.parse(text);
}

/** An error shaped like body-parser's (http-errors): the status, and the `type` filters judge by. */
function bodyError(status: number, message: string, type: string): Error {
  return Object.assign(new Error(message), { status, statusCode: status, expose: true, type });
}
