import { afterEach, describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import { ADMIT_BATCH, StartGate } from './start-gate.js';

function get(port: number, path: string): Promise<{ status: number; body: string; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body, retryAfter: res.headers['retry-after'] as string | undefined }));
    })
      .on('error', reject)
      .end();
  });
}

/** The application's server: never listens, answers what the gate hands it. */
function application(): Server {
  return createServer((req, res) => res.end(`app ${req.url}`));
}

describe('StartGate', () => {
  let gate: StartGate;
  afterEach(() => gate.close());

  it('answers /healthz 200 and /readyz 503 itself while starting', async () => {
    gate = new StartGate();
    const { port } = await gate.listen(0, '127.0.0.1');
    expect(await get(port, '/healthz')).toMatchObject({ status: 200 });
    expect(await get(port, '/readyz')).toMatchObject({ status: 503, retryAfter: '1' });
  });

  it('holds other requests until admit(), then the application answers them and all later ones', async () => {
    gate = new StartGate();
    const { port } = await gate.listen(0, '127.0.0.1');
    const held = get(port, '/api/v1/sessions');
    while (gate.holding === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(gate.holding).toBe(1);
    gate.admit(application());
    expect(await held).toMatchObject({ status: 200, body: 'app /api/v1/sessions' });
    expect(await get(port, '/readyz')).toMatchObject({ status: 200, body: 'app /readyz' });
    expect(gate.holding).toBe(0);
  });

  it('hands what it held over in batches, in arrival order, with later arrivals going straight through', async () => {
    gate = new StartGate();
    const fakeSocket = () => Object.assign(new EventEmitter(), { destroyed: false, writable: true });
    const sockets = Array.from({ length: ADMIT_BATCH * 2 + 10 }, fakeSocket);
    for (const [index, socket] of sockets.entries()) gate.server.emit('upgrade', { url: `/ws/${index}` }, socket, Buffer.alloc(0));
    sockets[3].destroyed = true; // left while held
    expect(gate.holding).toBe(sockets.length);
    const target = new EventEmitter();
    const admitted: string[] = [];
    target.on('upgrade', (req: { url: string }) => admitted.push(req.url));
    gate.admit(target as Server);
    expect(admitted).toHaveLength(ADMIT_BATCH - 1);
    gate.server.emit('upgrade', { url: '/ws/late' }, fakeSocket(), Buffer.alloc(0));
    expect(admitted.at(-1)).toBe('/ws/late');
    while (admitted.length < sockets.length) await new Promise((resolve) => setImmediate(resolve));
    expect(admitted.filter((url) => url !== '/ws/late')).toEqual(sockets.map((_, index) => `/ws/${index}`).filter((url) => url !== '/ws/3'));
    expect(gate.holding).toBe(0);
  });

  it('answers 503 with Retry-After to what waited too long', async () => {
    gate = new StartGate(50);
    const { port } = await gate.listen(0, '127.0.0.1');
    const reply = await get(port, '/api/v1/sessions');
    expect(reply).toMatchObject({ status: 503, retryAfter: '1' });
    expect(JSON.parse(reply.body)).toMatchObject({ statusCode: 503, message: expect.stringMatching(/starting/) });
    expect(gate.holding).toBe(0);
  });

  it('answers 503 at once to what it holds when start-up fails', async () => {
    gate = new StartGate();
    const { port } = await gate.listen(0, '127.0.0.1');
    const held = get(port, '/x');
    while (gate.holding === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    gate.refuseHeld();
    expect(await held).toMatchObject({ status: 503 });
  });
});
