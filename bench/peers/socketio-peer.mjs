// Socket.IO 4.8 with connection state recovery and its default in-memory adapter: one room
// per session, the current state sent on a connect that was not recovered, changes
// broadcast to the room. Usage: node socketio-peer.mjs --port=N [--host=127.0.0.1]
import http from 'node:http';
import { Server } from 'socket.io';
import { Store, parseArgs, restHandler, snapshotFrame, onSigterm } from './common.mjs';

const args = parseArgs(process.argv.slice(2));
const port = Number(args.port ?? 18081);
const host = args.host ?? '127.0.0.1';

const store = new Store();
let connections = 0;
let recovered = 0;

const server = http.createServer();
server.keepAliveTimeout = 60000;
const io = new Server(server, {
  transports: ['websocket'],
  perMessageDeflate: false,
  connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000, skipMiddlewares: true },
});

const rest = restHandler(store, (sid, frame) => io.to(sid).emit('message', frame), () => ({
  ws_connections: connections,
  recovered_connections: recovered,
}));
// Socket.IO answers its own path; everything else is the REST subset.
server.on('request', (req, res) => {
  if (req.url.startsWith('/socket.io')) return;
  rest(req, res);
});

io.on('connection', (socket) => {
  connections++;
  socket.on('disconnect', () => connections--);
  const sid0 = String(socket.handshake.query.session_id ?? '');
  socket.on('sync', () => socket.emit('message', snapshotFrame(sid0, store.get(sid0))));
  if (socket.recovered) {
    // Missed packets are replayed by Socket.IO itself and the rooms are restored.
    recovered++;
    return;
  }
  const sid = String(socket.handshake.query.session_id ?? '');
  const s = store.get(sid);
  socket.emit('message', snapshotFrame(sid, s));
  if (!s) return socket.disconnect(true);
  socket.join(sid);
});

onSigterm(async () => {
  // Closing the engine drops the transports ("transport close"), after which clients
  // reconnect on their own; a server-side disconnect() would stop them from reconnecting.
  io.engine.close();
  await new Promise((r) => server.close(r));
});

server.listen(port, host, () => console.log(`socketio-peer listening on ${host}:${port}`));
