import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { CloseCode, ErrorCode, WS_PATH } from '../../src/protocol/protocol.js';
import { Api } from '../../test/helpers/api.js';
import { freePort } from '../../test/helpers/ports.js';
import { Follower } from '../lib/follower.js';
import { sleep, timeUntil, type Scenario } from '../lib/scenario.js';
import { Stack } from '../lib/stack.js';

const PER_KEY = 20;
const NOFILE = 200;

/**
 * (1) WS_MAX_CONNECTIONS_PER_KEY: past it a connect gets a `rate_limited` error frame and
 * close 1013; another key is not affected; a freed slot is usable again.
 * (2) A process out of file descriptors (started with `ulimit -n 200`): new connections are
 * refused, the process neither crashes nor spins on accept, old connections keep getting
 * changes, and once descriptors are free again new connections are served.
 */
export const limits: Scenario = {
  name: 'limits',
  async run({ log }, guarantees) {
    const figures: Record<string, number | string> = {};
    const stack = await Stack.create();
    try {
      const service = await stack.start({ WS_MAX_CONNECTIONS_PER_KEY: String(PER_KEY) });
      const api = service.api(stack.apiKey);
      const session = await api.createSession('limits');
      const held = Array.from({ length: PER_KEY }, () => new Follower(service.wsBase, session.id, stack.apiKey, false).start());
      await timeUntil(() => held.every((f) => f.version > 0), 10_000);
      const over = await connectOnce(service.wsBase, session.id, stack.apiKey);
      guarantees.check(over.error === ErrorCode.RateLimited && over.code === CloseCode.TryAgainLater, `connection ${PER_KEY + 1} of one key got ${over.error ?? 'no error frame'} + ${over.code} (want rate_limited + 1013)`);
      const other = await stack.createUser('other');
      const otherSession = await new Api(service.baseUrl, other.api_key).createSession('theirs');
      const otherConnect = await connectOnce(service.wsBase, otherSession.id, other.api_key);
      guarantees.check(otherConnect.snapshot, 'another key connects while the first is at its cap');
      held[0].stop();
      await sleep(300);
      const again = await connectOnce(service.wsBase, session.id, stack.apiKey);
      guarantees.check(again.snapshot, 'a slot freed by a close is usable again');
      for (const follower of held) follower.stop();
      figures[`per-key cap (${PER_KEY}): connection ${PER_KEY + 1}`] = `${over.error} + close ${over.code}, message "${over.message}"`;

      // (2) File descriptors.
      const fd = await startWithNofile(stack, NOFILE);
      stack.onDispose(async () => fd.kill());
      const fdApi = new Api(fd.baseUrl, stack.apiKey);
      const old = Array.from({ length: 40 }, () => new Follower(fd.wsBase, session.id, stack.apiKey, false).start());
      await timeUntil(() => old.every((f) => f.version > 0), 10_000);
      // The flood's connections stay open until every one has its answer: closed at once on
      // their snapshot, 400 connects can be served one after another with descriptors to spare
      // (a CI run saw 400 of 400 served), and the shortage this part is about never happens.
      const flood = await Promise.all(Array.from({ length: NOFILE * 2 }, () => connectHeld(fd.wsBase, session.id, stack.apiKey, 3000)));
      for (const connection of flood) connection.close();
      const served = flood.filter((c) => c.snapshot).length;
      const refused = flood.length - served;
      guarantees.check(refused > 0, `the flood of ${flood.length} connects, held open, ran the process out of descriptors (${refused} refused)`);
      guarantees.check(served > 0, `the process out of descriptors still served the flood's connects it had descriptors for (${served} served)`);
      guarantees.check(fd.alive(), 'the process out of descriptors is alive');
      // Spinning: held out of descriptors (plain TCP connections kept open use them up) with
      // connects still arriving, the process must sit nearly idle. The CPU of the flood above
      // says nothing about that: serving and refusing 400 connects in a moment is real work.
      const holders = await holdDescriptors(fd.port, NOFILE);
      await sleep(300);
      const dropped = holders.filter((socket) => socket.destroyed || socket.readableEnded).length;
      guarantees.check(dropped > 0, `holding ${NOFILE} connections ran the process out of descriptors (${dropped} closed at once by the runtime)`);
      const cpuBefore = fd.cpuMs();
      const started = performance.now();
      const knocking = Array.from({ length: 20 }, () => createConnection({ port: fd.port, host: '127.0.0.1' }).on('error', () => undefined));
      await sleep(1000);
      const cpuShare = (fd.cpuMs() - cpuBefore) / (performance.now() - started);
      for (const socket of [...holders, ...knocking]) socket.destroy();
      guarantees.check(fd.alive(), 'the process held out of descriptors is alive');
      guarantees.check(cpuShare < 0.5, `CPU while out of descriptors with connects arriving: ${Math.round(cpuShare * 100)}% of a core (a spinning accept loop would be ~100%)`);
      await sleep(500);
      // Old connections still get changes once the flood's sockets are gone.
      const interaction = await fdApi.addInteraction(session.id, 'after the flood').catch(() => undefined);
      guarantees.check(interaction !== undefined, 'a REST write succeeded after the flood');
      const version = (await stack.versions([session.id])).get(session.id)!;
      const current = await timeUntil(() => old.every((f) => f.version >= version), 5000);
      const stillOpen = old.filter((f) => f.open_).length;
      guarantees.check(stillOpen === old.length, `${old.length - stillOpen} of ${old.length} old connections were lost to the descriptor shortage`);
      guarantees.check(current >= 0, 'old connections got the change made after the flood');
      const fresh = await connectOnce(fd.wsBase, session.id, stack.apiKey);
      guarantees.check(fresh.snapshot, 'a new connect is served once descriptors are free');
      const errors = fd.output().filter((line) => /EMFILE|accept/i.test(line)).length;
      log(`ulimit -n ${NOFILE}: ${served} of ${flood.length} flood connects served, ${refused} refused; ${errors} log lines about it`);
      for (const follower of old) follower.stop();
      figures[`fd exhaustion (ulimit -n ${NOFILE}): flood connects served / refused`] = `${served} / ${refused}`;
      figures['fd exhaustion: connections held / closed at once by the runtime'] = `${NOFILE - dropped} / ${dropped}`;
      figures['fd exhaustion: CPU over 1 s held out of descriptors, connects arriving (% of a core)'] = Math.round(cpuShare * 100);
      figures['fd exhaustion: old connections kept'] = `${stillOpen}/${old.length}`;
      return figures;
    } finally {
      await stack.dispose();
    }
  },
};

function connectOnce(wsBase: string, sessionId: string, key: string, timeoutMs = 10_000): Promise<{ snapshot: boolean; error?: string; message?: string; code: number }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`${wsBase}${WS_PATH}?session_id=${sessionId}&access_token=${encodeURIComponent(key)}`);
    let error: string | undefined;
    let message: string | undefined;
    let snapshot = false;
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string; error?: { code: string; message: string } };
      if (frame.error) ({ code: error, message } = frame.error);
      if (frame.type === 'session_update') {
        snapshot = true;
        socket.close();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', (code) => resolve({ snapshot, error, message, code }));
    setTimeout(() => socket.terminate(), timeoutMs).unref();
  });
}

/**
 * A connect that stays open: resolves once the snapshot arrives (served) or the socket closes or
 * times out (refused), with `close` to end it.
 */
function connectHeld(wsBase: string, sessionId: string, key: string, timeoutMs: number): Promise<{ snapshot: boolean; close: () => void }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`${wsBase}${WS_PATH}?session_id=${sessionId}&access_token=${encodeURIComponent(key)}`);
    const close = () => socket.terminate();
    const timer = setTimeout(() => {
      close();
      resolve({ snapshot: false, close });
    }, timeoutMs);
    socket.on('message', (data) => {
      if ((JSON.parse(data.toString()) as { type: string }).type !== 'session_update') return;
      clearTimeout(timer);
      resolve({ snapshot: true, close });
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ snapshot: false, close });
    });
  });
}

/** `count` plain TCP connections to the port, kept open: each accepted one takes a descriptor of the server's. */
async function holdDescriptors(port: number, count: number): Promise<Socket[]> {
  const sockets = Array.from({ length: count }, () => createConnection({ port, host: '127.0.0.1' }).on('error', () => undefined));
  await Promise.all(sockets.map((socket) => new Promise((resolve) => socket.once('connect', resolve).once('close', resolve))));
  return sockets;
}

/** The service under `ulimit -n`, which Node cannot set on a child itself. */
async function startWithNofile(stack: Stack, nofile: number) {
  const main = fileURLToPath(new URL('../../dist/server/main.js', import.meta.url));
  const port = await freePort();
  const lines: string[] = [];
  const child = spawn('/bin/sh', ['-c', `ulimit -n ${nofile} && exec "$0" "$1"`, process.execPath, main], {
    env: { ...process.env, ...stack.database.env, NATS_URL: '', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n')));
  child.stderr.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n')));
  const baseUrl = `http://127.0.0.1:${port}`;
  const ready = await timeUntil(() => fetch(`${baseUrl}/readyz`).then((r) => r.status === 200, () => false), 30_000);
  if (ready < 0) throw new Error(`the service under ulimit -n ${nofile} did not start:\n${lines.join('\n')}`);
  const ticks = () => {
    const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime, 100 Hz ticks → ms
  };
  return {
    baseUrl,
    port,
    wsBase: `ws://127.0.0.1:${port}`,
    alive: () => child.exitCode === null && child.signalCode === null,
    cpuMs: () => (child.exitCode === null ? ticks() : 0),
    output: () => lines,
    kill: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
