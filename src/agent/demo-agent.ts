/**
 * Demo agent: follows one session and answers every new prompt by streaming a reply.
 *
 *   npm run agent -- --url http://127.0.0.1:8080 --key sk_… --session ID [--rate 40] [--words 120]
 *
 * Open the session in the browser, send a prompt, and watch the answer stream in; restart the
 * service meanwhile (Ctrl+C and `npm start` again, or kill -9 it) and watch both recover.
 * `SESSION_SYNC_URL` / `SESSION_SYNC_KEY` may stand in for `--url` / `--key`.
 */
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { SessionClient, SessionClientState, type WebSocketConstructor } from '../../web/src/client/index.js';
import { UUID_PATTERN } from '../protocol/protocol.js';
import { SessionWriter } from '../writer/session-writer.js';
import { Responder, demoReply } from './responder.js';

const USAGE = 'usage: npm run agent -- --url http://127.0.0.1:8080 --key sk_… --session SESSION_ID [--rate CHUNKS_PER_SECOND] [--words N]';

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) fail(`--${name} must be a number > 0, got ${JSON.stringify(value)}`);
  return n;
}

let args;
try {
  args = parseArgs({
    options: {
      url: { type: 'string', default: process.env.SESSION_SYNC_URL ?? 'http://127.0.0.1:8080' },
      key: { type: 'string', default: process.env.SESSION_SYNC_KEY },
      session: { type: 'string' },
      rate: { type: 'string', default: '40' },
      words: { type: 'string', default: '120' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }).values;
} catch (error) {
  fail((error as Error).message);
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (!args.key) fail('--key is required (or SESSION_SYNC_KEY)');
if (!args.session || !UUID_PATTERN.test(args.session)) fail(`--session must be a session id (canonical UUID), got ${JSON.stringify(args.session ?? '')}`);
const rate = positive('rate', args.rate!);
const words = Math.floor(positive('words', args.words!));

const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);

/** `ws`'s WebSocket; its error events are followed by a close, which the client handles. */
class NodeWebSocket extends WebSocket {
  constructor(url: string) {
    super(url);
    this.on('error', () => undefined);
  }
}

const writer = new SessionWriter({
  baseUrl: args.url!,
  apiKey: args.key,
  maxRetryTimeMs: Number.POSITIVE_INFINITY,
  onRetry: ({ what, reason, delayMs }) => log(`retrying in ${delayMs} ms (${reason}): ${what}`),
});
const responder = new Responder({ writer, sessionId: args.session, rate, compose: (prompt) => demoReply(prompt, words), log });
const client = new SessionClient({
  sessionId: args.session,
  baseUrl: args.url,
  accessToken: args.key,
  WebSocket: NodeWebSocket as unknown as WebSocketConstructor,
});

let status = '';
let leaving = false;
client.subscribe(({ session, status: now, reason, gone }) => {
  if (now !== status) {
    status = now;
    log(`connection ${now}${reason ? ` (${reason.code}: ${reason.message})` : ''}`);
    if (now === SessionClientState.Stopped && !leaving) {
      if (gone) log('the session no longer exists');
      void responder.stop('the agent lost its session').then(() => process.exit(1));
      return;
    }
  }
  responder.onSession(session);
});
log(`following session ${args.session} on ${args.url}, answering at ${rate} chunks/s`);
client.connect();

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    leaving = true;
    log(`${signal}: failing ${responder.inProgress} replies in progress and leaving`);
    client.disconnect();
    void responder.stop().then(() => process.exit(0));
  });
}
