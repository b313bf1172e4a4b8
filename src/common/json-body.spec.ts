import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { AddressInfo } from 'node:net';
import { request as httpRequest, type Server } from 'node:http';
import { jsonBody } from './json-body.js';

const LIMIT = 1000;

/** Two apps: one with jsonBody, one with body-parser alone; each answers what it parsed or how it failed. */
function app(parser: express.RequestHandler) {
  const a = express();
  a.use(parser);
  a.post('/', (req: Request, res: Response) => void res.json({ body: req.body ?? null }));
  a.use((err: { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => void res.status(err.status ?? 500).json({ error: err.type ?? 'none' }));
  return a;
}

let fallbacks = 0;
let fast: Server;
let reference: Server;
beforeAll(async () => {
  const bodyParser = express.json({ limit: LIMIT });
  fast = app(jsonBody(LIMIT, (req, res, next) => (fallbacks++, bodyParser(req, res, next)))).listen(0, '127.0.0.1');
  reference = app(express.json({ limit: LIMIT })).listen(0, '127.0.0.1');
  await Promise.all([fast, reference].map((s) => new Promise((resolve) => s.once('listening', resolve))));
});
afterAll(async () => {
  await Promise.all([fast, reference].map((s) => new Promise((resolve) => s.close(resolve))));
});

function post(server: Server, body: Buffer | string, headers: Record<string, string | number>, chunked = false): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const bytes = Buffer.from(body);
    const all = chunked ? headers : { 'content-length': bytes.length, ...headers };
    const req = httpRequest({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, method: 'POST', path: '/', headers: all }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    if (chunked) req.write(bytes.subarray(0, 1));
    req.end(chunked ? bytes.subarray(1) : bytes);
  });
}

const JSON_TYPE = { 'content-type': 'application/json' };
const CASES: [string, Buffer | string, Record<string, string | number>, boolean][] = [
  ['an object', '{"append":"héllo ✓","offset":3}', JSON_TYPE, true],
  ['an array, leading whitespace, charset', ' \n[1,2]', { 'content-type': 'Application/JSON; charset=UTF-8' }, true],
  ['a BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')]), JSON_TYPE, true],
  ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), JSON_TYPE, true],
  ['a primitive (strict)', '"text"', JSON_TYPE, true],
  ['broken JSON', '{"a":', JSON_TYPE, true],
  ['a NUL character escaped', '{"a":"\\u0000"}', JSON_TYPE, true],
  ['a body over the limit', `{"a":"${'x'.repeat(LIMIT)}"}`, JSON_TYPE, false],
  ['another charset', '{"a":1}', { 'content-type': 'application/json; charset=latin1' }, false],
  ['a compressed body', '{"a":1}', { ...JSON_TYPE, 'content-encoding': 'gzip' }, false],
  ['another type', '{"a":1}', { 'content-type': 'text/plain' }, false],
  ['an empty body', '', JSON_TYPE, false],
];

describe('jsonBody', () => {
  it.each(CASES)('reads %s exactly as body-parser does', async (_name, body, headers, fastPath) => {
    const before = fallbacks;
    const [got, expected] = await Promise.all([post(fast, body, headers), post(reference, body, headers)]);
    expect(got).toEqual(expected);
    expect(fallbacks - before).toBe(fastPath ? 0 : 1);
  });

  it('leaves a chunked body to body-parser', async () => {
    const before = fallbacks;
    const got = await post(fast, '{"a":[1,2,3]}', { ...JSON_TYPE, 'transfer-encoding': 'chunked' }, true);
    expect(got).toEqual({ status: 200, text: '{"body":{"a":[1,2,3]}}' });
    expect(fallbacks - before).toBe(1);
  });
});
