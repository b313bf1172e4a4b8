// A load-generator process: holds many WebSocket (or Socket.IO) clients and answers the
// orchestrator's commands over IPC. Times are absolute milliseconds on the machine's
// shared clock (performance.timeOrigin + performance.now()), so a write timed in the
// orchestrator and its delivery timed here can be subtracted.
import { performance } from 'node:perf_hooks';
import http from 'node:http';
import WebSocket from 'ws';
import { io as sioConnect } from 'socket.io-client';

const now = () => performance.timeOrigin + performance.now();
const RECONNECT_CODES = new Set([1006, 1011, 1012, 1013]);

// Frames are only peeked at, not parsed: a 200-interaction snapshot parsed per connect would
// make the generator, not the server, the bottleneck. Field names cannot occur unescaped
// inside string values, so the first match is a key; a session's own `version` equals the
// frame's.
const VERSION_RE = /"version":(\d+)/;
function peek(data) {
  const s = typeof data === 'string' ? data : data.toString('latin1', 0, Math.min(data.length, 512));
  const ti = s.indexOf('"type":"');
  const type = ti >= 0 ? s.slice(ti + 8, s.indexOf('"', ti + 8)) : '';
  let m = VERSION_RE.exec(s);
  if (!m && typeof data !== 'string' && data.length > 512) m = VERSION_RE.exec(data.toString('latin1'));
  const version = m ? Number(m[1]) : -1;
  let gone = false;
  if (type === 'session_update') {
    const full = typeof data === 'string' ? data : s.length === data.length ? s : data.toString('latin1');
    gone = full.includes('"session":null');
  }
  return { type, version, gone, bytes: typeof data === 'string' ? Buffer.byteLength(data) : data.length };
}

let clients = [];
let reconnectPolicy = { base: 200, cap: 3000, restartJitter: 1000, maxAttempts: 200 };
let stormMark = 0; // set by `mark`: frames on connections opened after it count as resync
let expected = null; // session id -> version the database holds
const waits = new Set();
const counters = { messages: 0, interactionUpdates: 0, gaps: 0, errors: 0, firstRecv: 0, lastRecv: 0 };
// How the connections of reconnecting clients ended since the storm mark: close code, or the
// handshake's error (`refused`, `503`, …). Explains a slow storm: refusals back off.
let closeCodes = {};
let refusedAt = []; // ms after the mark of each refused connect
const countClose = (what) => {
  closeCodes[what] = (closeCodes[what] ?? 0) + 1;
  if (what === 'refused' && stormMark) refusedAt.push(now() - stormMark);
};
let recording = null; // Map key `${sid}:${version}` -> times, while a fan-out phase records

class Client {
  constructor(kind, url, sid, opts = {}) {
    this.kind = kind;
    this.url = url;
    this.sid = sid;
    this.reconnect = !!opts.reconnect;
    // v1.1 resume: every reconnect asks for the changes after the last applied version.
    this.resume = !!opts.resume;
    this.bytes = 0;
    this.bytesAfterMark = 0;
    this.framesAfterMark = 0;
    this.reacceptedAt = 0; // first session_update on a connection opened after the mark
    this.sinceFrame = false; // that frame was a delta snapshot (carried `since`)
    this.version = 0;
    this.state = 'idle'; // connecting | open | gone | failed | closed
    this.attempts = 0;
    this.t0 = 0;
    this.tFirst = 0;
    this.firstBytes = 0;
    this.connStart = 0; // when the current connection attempt started
    this.syncedAt = 0;
    this.closing = false;
    this.firstResolve = null;
    this.connects = 0;
  }

  open() {
    this.t0 = now();
    this.connStart = this.t0;
    this.state = 'connecting';
    const p = new Promise((resolve) => (this.firstResolve = resolve));
    if (this.kind === 'sio') this.openSio();
    else this.openWs();
    return p;
  }

  openWs() {
    this.connStart = now();
    this.connects++;
    const url = this.resume && this.version > 0 ? `${this.url}&since=${this.version}` : this.url;
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 30000 });
    this.ws = ws;
    ws.on('message', (data) => this.onFrame(data, ws));
    ws.on('error', (e) => {
      if (ws === this.ws) countClose(e.code === 'ECONNREFUSED' ? 'refused' : /Unexpected server response: (\d+)/.exec(e.message)?.[1] ?? e.code ?? 'error');
    });
    ws.on('close', (code) => {
      if (ws === this.ws && !this.closing) countClose(String(code));
      this.onClose(code, ws);
    });
  }

  openSio() {
    const u = new URL(this.url);
    const sock = sioConnect(`${u.protocol}//${u.host}`, {
      transports: ['websocket'],
      forceNew: true,
      query: { session_id: this.sid },
      reconnection: this.reconnect,
      reconnectionAttempts: reconnectPolicy.maxAttempts,
      reconnectionDelay: reconnectPolicy.base,
      reconnectionDelayMax: reconnectPolicy.cap,
      randomizationFactor: 1,
      timeout: 30000,
    });
    this.sock = sock;
    this.connects++;
    sock.io.on('reconnect_attempt', () => {
      this.connStart = now();
      this.connects++;
    });
    sock.on('message', (data) => this.onFrame(data, sock));
    sock.on('connect_error', () => {
      if (!this.reconnect && this.state === 'connecting') this.fail();
    });
    sock.io.on('reconnect_failed', () => this.fail());
    sock.on('disconnect', (reason) => {
      if (this.closing) return (this.state = 'closed');
      // A server-side disconnect is the peer's "session not found"; Socket.IO does not
      // reconnect after it.
      if (reason === 'io server disconnect') this.state = this.state === 'gone' ? 'gone' : 'failed';
      else if (!this.reconnect) this.fail();
      else this.state = 'connecting';
    });
  }

  fail() {
    this.state = 'failed';
    this.settleFirst();
    checkWaits();
  }

  settleFirst() {
    if (this.firstResolve) {
      const r = this.firstResolve;
      this.firstResolve = null;
      r();
    }
  }

  onFrame(data, conn) {
    const t = now();
    const f = peek(data);
    counters.messages++;
    this.bytes += f.bytes;
    const afterMark = stormMark && this.connStart >= stormMark;
    if (afterMark) {
      this.bytesAfterMark += f.bytes;
      this.framesAfterMark++;
    }
    if (f.type === 'session_update') {
      if (afterMark && !this.reacceptedAt) {
        this.reacceptedAt = t;
        this.sinceFrame = hasSince(data);
      }
      if (!this.tFirst) {
        this.tFirst = t;
        this.firstBytes = f.bytes;
      }
      this.attempts = 0;
      if (f.gone) {
        this.state = 'gone';
        this.version = 0;
      } else {
        this.state = 'open';
        if (f.version > this.version) this.version = f.version;
      }
      if (stormMark && this.connStart >= stormMark && !this.syncedAt && expected) {
        if (!f.gone && expected.get(this.sid) === this.version) this.syncedAt = t;
      }
      this.settleFirst();
      checkWaits();
    } else if (f.type === 'interaction_update' || f.type === 'interaction_append') {
      counters.interactionUpdates++;
      if (!counters.firstRecv) counters.firstRecv = t;
      counters.lastRecv = t;
      if (recording) {
        const key = `${this.sid}:${f.version}`;
        let arr = recording.get(key);
        if (!arr) recording.set(key, (arr = []));
        arr.push(t);
      }
      if (f.version === this.version + 1 || this.version === 0) this.version = f.version;
      else if (f.version > this.version + 1) {
        counters.gaps++;
        this.sendSync(conn);
      }
      if (stormMark && this.connStart >= stormMark && !this.syncedAt && expected?.get(this.sid) === this.version) {
        this.syncedAt = t;
      }
      checkWaits();
    } else if (f.type === 'error') {
      counters.errors++;
    }
  }

  sendSync(conn) {
    try {
      if (this.kind === 'sio') conn.emit('sync');
      else conn.send('{"type":"sync"}');
    } catch {}
  }

  onClose(code, ws) {
    if (ws !== this.ws) return;
    if (this.closing) {
      this.state = 'closed';
      return;
    }
    if (this.state === 'gone') return;
    if (this.reconnect && RECONNECT_CODES.has(code) && this.attempts < reconnectPolicy.maxAttempts) {
      this.state = 'connecting';
      const a = this.attempts++;
      const delay =
        code === 1012
          ? Math.random() * reconnectPolicy.restartJitter
          : Math.random() * Math.min(reconnectPolicy.cap, reconnectPolicy.base * 2 ** a);
      this.timer = setTimeout(() => this.openWs(), delay);
      return;
    }
    this.fail();
  }

  close() {
    this.closing = true;
    clearTimeout(this.timer);
    return new Promise((resolve) => {
      if (this.kind === 'sio') {
        this.sock?.disconnect();
        this.state = 'closed';
        return resolve();
      }
      const ws = this.ws;
      if (!ws || ws.readyState === WebSocket.CLOSED) {
        this.state = 'closed';
        return resolve();
      }
      const t = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 5000);
      ws.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000);
    });
  }
}

// Waiters are polled, not re-checked per frame: a per-frame scan of 5,000 clients during a
// fan-out would be quadratic. Delivery times are stamped on receipt, so polling only delays
// the reply, never the figure.
function checkWaits() {}

/** Whether a session_update is a v1.1 delta snapshot: `"since":` at the frame's top level. */
function hasSince(data) {
  const s = typeof data === 'string' ? data : data.toString('latin1');
  // The key sits outside `session` (which ends the frame in the service's field order) or
  // before it; a string value cannot hold an unescaped `"since":`.
  return s.includes('"since":');
}

function waitUntil(pred, timeoutMs) {
  return new Promise((resolve) => {
    const w = {
      check() {
        if (pred()) done(true);
      },
    };
    const done = (ok) => {
      waits.delete(w);
      clearTimeout(timer);
      clearInterval(poll);
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    const poll = setInterval(() => w.check(), 10);
    waits.add(w);
    w.check();
  });
}

async function openAll(specs, inflight, reconnect, timeoutMs) {
  const list = specs.map((s) => new Client(s.kind, s.url, s.sid, { reconnect, resume: s.resume }));
  let i = 0;
  const worker = async () => {
    while (i < list.length) {
      const c = list[i++];
      await Promise.race([c.open(), new Promise((r) => setTimeout(r, timeoutMs))]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(inflight, list.length)) }, worker));
  return list;
}

function timings(list) {
  return list.map((c) => (c.tFirst ? c.tFirst - c.t0 : null));
}

function cpu() {
  const u = process.cpuUsage();
  return { user: u.user, system: u.system, at: now() };
}

const handlers = {
  async cpu() {
    return cpu();
  },
  // Appends kept in flight for `seconds` over `targets` ({sid, iid}), round-robin, as an
  // agent fleet would: the write path at saturation. Latencies in ms, one per answered write.
  async appendLoad(msg) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: msg.inflight });
    const base = { 'content-type': 'application/json', authorization: `Bearer ${msg.token}` };
    if (msg.prefer) base.prefer = msg.prefer;
    const url = new URL(msg.base);
    const latencies = [];
    const statuses = {};
    let responseBytes = 0;
    let next = 0;
    const targets = msg.targets.map((t) => ({ ...t, busy: false }));
    const textBytes = Buffer.byteLength(msg.text);
    const c0 = cpu();
    const start = now();
    const end = start + msg.seconds * 1000;
    // One append in flight per interaction, as a streaming agent does; with `offset`, each
    // carries the length the writer knows (a 409 tells it the real one).
    const one = (t) =>
      new Promise((resolve) => {
        const body = Buffer.from(JSON.stringify(msg.offset ? { append: msg.text, offset: t.length } : { append: msg.text }));
        const t0 = now();
        const req = http.request(
          { host: url.hostname, port: url.port, method: 'PATCH', path: `/api/v1/sessions/${t.sid}/interactions/${t.iid}`, headers: { ...base, 'content-length': body.length }, agent },
          (res) => {
            const chunks = [];
            res.on('data', (c) => {
              responseBytes += c.length;
              if (res.statusCode === 409) chunks.push(c);
            });
            res.on('end', () => {
              statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
              if (res.statusCode === 200) {
                latencies.push(now() - t0);
                t.length += textBytes;
              } else if (res.statusCode === 409) {
                try {
                  t.length = JSON.parse(Buffer.concat(chunks).toString()).offset;
                } catch {}
              }
              resolve();
            });
          },
        );
        req.on('error', () => {
          statuses.error = (statuses.error ?? 0) + 1;
          resolve();
        });
        req.end(body);
      });
    await Promise.all(
      Array.from({ length: msg.inflight }, async () => {
        while (now() < end) {
          const t = targets[next++ % targets.length];
          if (t.busy) {
            if (targets.every((x) => x.busy)) await new Promise((r) => setImmediate(r));
            continue;
          }
          t.busy = true;
          await one(t);
          t.busy = false;
        }
      }),
    );
    const seconds = (now() - start) / 1000;
    const c1 = cpu();
    agent.destroy();
    return { latencies, statuses, responseBytes, seconds, cpuMs: (c1.user - c0.user + c1.system - c0.system) / 1000, lengths: targets.map((t) => [t.iid, t.length]) };
  },
  async policy(msg) {
    reconnectPolicy = { ...reconnectPolicy, ...msg.policy };
    return reconnectPolicy;
  },
  // Connect all at once (bounded by `inflight`), time each to its first session_update,
  // then close them: one round of the connect-to-state scenario.
  async connectRound(msg) {
    const list = await openAll(msg.specs, msg.inflight ?? msg.specs.length, false, msg.timeoutMs ?? 30000);
    const res = { times: timings(list), bytes: list.map((c) => c.firstBytes), failed: list.filter((c) => !c.tFirst).length };
    await Promise.all(list.map((c) => c.close()));
    return res;
  },
  // Connect and keep: the pool for fan-out, memory and the restart storm.
  async connect(msg) {
    const list = await openAll(msg.specs, msg.inflight ?? 200, !!msg.reconnect, msg.timeoutMs ?? 60000);
    clients.push(...list);
    return {
      connected: list.filter((c) => c.tFirst && c.state === 'open').length,
      failed: list.filter((c) => !c.tFirst || c.state !== 'open').length,
      times: timings(list),
    };
  },
  async closeAll() {
    const list = clients;
    clients = [];
    await Promise.all(list.map((c) => c.close()));
    return { closed: list.length };
  },
  async record(msg) {
    recording = msg.on ? new Map() : null;
    return true;
  },
  async takeRecording() {
    const out = recording ? Object.fromEntries(recording) : {};
    recording = new Map();
    return out;
  },
  async counters(msg) {
    const c = { ...counters };
    if (msg.reset) {
      counters.messages = counters.interactionUpdates = counters.gaps = counters.errors = 0;
      counters.firstRecv = counters.lastRecv = 0;
    }
    return c;
  },
  // Resolve when every held client on `sid` has seen `version`.
  async waitVersion(msg) {
    return handlers.waitVersions({ versions: { [msg.sid]: msg.version }, timeoutMs: msg.timeoutMs });
  },
  // Resolve when every held client has seen the version `versions` names for its session.
  async waitVersions(msg) {
    const want = new Map(Object.entries(msg.versions));
    const mine = clients.filter((c) => want.has(c.sid));
    const ok = await waitUntil(() => mine.every((c) => c.version >= want.get(c.sid) || c.state === 'failed'), msg.timeoutMs ?? 10000);
    return { ok, reached: mine.filter((c) => c.version >= want.get(c.sid)).length, of: mine.length };
  },
  async mark(msg) {
    stormMark = msg.at ?? now();
    closeCodes = {};
    refusedAt = [];
    for (const c of clients) {
      c.connects = 0;
      c.syncedAt = 0;
      c.reacceptedAt = 0;
      c.sinceFrame = false;
      c.bytesAfterMark = 0;
      c.framesAfterMark = 0;
    }
    return stormMark;
  },
  // Whether held clients reconnect with `since` (the storm is run both ways on one pool).
  async setResume(msg) {
    for (const c of clients) c.resume = !!msg.on;
    return clients.length;
  },
  async expect(msg) {
    expected = new Map(Object.entries(msg.versions));
    return expected.size;
  },
  // Restart storm: wait until every client is resynced, or has settled otherwise.
  async waitSettled(msg) {
    const settled = (c) => c.syncedAt || c.state === 'gone' || c.state === 'failed';
    await waitUntil(() => clients.every(settled), msg.timeoutMs);
    // Peers that lost their state answer "not found" without the client ever failing:
    // those count as reconnected but wrong.
    return {
      total: clients.length,
      synced: clients.filter((c) => c.syncedAt).length,
      gone: clients.filter((c) => c.state === 'gone').length,
      failed: clients.filter((c) => c.state === 'failed').length,
      stuck: clients.filter((c) => !settled(c)).length,
      rightState: clients.filter((c) => c.state === 'open' && expected?.get(c.sid) === c.version).length,
      syncTimes: clients.filter((c) => c.syncedAt).map((c) => c.syncedAt),
      reacceptTimes: clients.filter((c) => c.reacceptedAt).map((c) => c.reacceptedAt),
      reaccepted: clients.filter((c) => c.reacceptedAt).length,
      sinceFrames: clients.filter((c) => c.sinceFrame).length,
      bytesAfterMark: clients.map((c) => c.bytesAfterMark),
      framesAfterMark: clients.reduce((a, c) => a + c.framesAfterMark, 0),
      connects: clients.reduce((a, c) => a + c.connects, 0),
      closeCodes,
      refusedAt,
    };
  },
};

process.on('message', async (msg) => {
  try {
    const result = await handlers[msg.cmd](msg);
    process.send({ id: msg.id, result });
  } catch (e) {
    process.send({ id: msg.id, error: String(e?.stack ?? e) });
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
