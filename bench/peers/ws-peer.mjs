// A plain `ws` server: the floor (one frame of a given size on connect, no lookup) and a
// publishing peer holding session state in memory, fed by the same REST writes as the
// service, with the v1.1 `since` and `delta=append` (a bare reference for what they cost).
// Usage: node ws-peer.mjs --port=N [--host=127.0.0.1]
import http from 'node:http';
import { WebSocketServer } from 'ws';
import { Store, parseArgs, restHandler, snapshotFrame, sinceFrame, onSigterm } from './common.mjs';

const args = parseArgs(process.argv.slice(2));
const port = Number(args.port ?? 18082);
const host = args.host ?? '127.0.0.1';

const store = new Store();
const subscribers = new Map(); // session id -> Set<WebSocket>
const floorFrames = new Map(); // size -> Buffer
let connections = 0;

const appendSockets = new WeakSet(); // connections that asked for delta=append

function publish(sessionId, frame, appendFrame) {
  const subs = subscribers.get(sessionId);
  if (!subs) return;
  const buf = Buffer.from(frame);
  const abuf = appendFrame ? Buffer.from(appendFrame) : buf;
  for (const ws of subs) ws.send(appendSockets.has(ws) ? abuf : buf, { binary: false });
}

function floorFrame(size) {
  let buf = floorFrames.get(size);
  if (!buf) {
    // A session_update-shaped frame padded to exactly `size` bytes, so the client side
    // does the same work per byte as for a real snapshot.
    const head = '{"type":"session_update","session_id":"floor","owner":"floor","version":1,"snapshot":true,"pad":"';
    const tail = '"}';
    const pad = Math.max(0, size - head.length - tail.length);
    buf = Buffer.from(head + 'x'.repeat(pad) + tail);
    floorFrames.set(size, buf);
  }
  return buf;
}

const server = http.createServer(restHandler(store, publish, () => ({ ws_connections: connections })));
server.keepAliveTimeout = 60000;
const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024, perMessageDeflate: false });

server.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname !== '/api/v1/ws/user' && url.pathname !== '/floor') return socket.destroy();
  wss.handleUpgrade(req, socket, head, (ws) => {
    connections++;
    ws.on('close', () => connections--);
    ws.on('error', () => {});
    if (url.pathname === '/floor') {
      ws.send(floorFrame(Number(url.searchParams.get('bytes') ?? 1024)), { binary: false });
      return;
    }
    const sid = url.searchParams.get('session_id') ?? '';
    const s = store.get(sid);
    if (url.searchParams.get('delta') === 'append') appendSockets.add(ws);
    ws.send(url.searchParams.has('since') ? sinceFrame(sid, s, Number(url.searchParams.get('since'))) : snapshotFrame(sid, s));
    if (!s) return ws.close(4404);
    let subs = subscribers.get(sid);
    if (!subs) subscribers.set(sid, (subs = new Set()));
    subs.add(ws);
    ws.on('close', () => subs.delete(ws));
    ws.on('message', (data) => {
      const text = data.toString();
      if (text.includes('"sync"')) ws.send(snapshotFrame(sid, store.get(sid)));
      else if (text.includes('"ping"')) ws.send('{"type":"pong"}');
    });
  });
});

onSigterm(async () => {
  for (const ws of wss.clients) ws.close(1012, 'restart');
  await new Promise((r) => server.close(r));
});

server.listen(port, host, () => console.log(`ws-peer listening on ${host}:${port}`));
