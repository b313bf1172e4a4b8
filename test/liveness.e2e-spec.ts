import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Api } from './helpers/api.js';
import { TestApp } from './helpers/app.js';
import { eventually } from './helpers/ports.js';
import { TestSocket } from './helpers/ws.js';

describe('server ping loop', () => {
  let app: TestApp;
  let user: Api & { userId: string };

  beforeAll(async () => {
    app = await TestApp.start({ WS_PING_INTERVAL_MS: '100', WS_PONG_TIMEOUT_MS: '100' });
    user = await app.newUser('pinged');
  });
  afterAll(() => app?.close());

  it('terminates a connection that stops answering pings, and keeps one that answers', async () => {
    const session = await user.createSession();
    const alive = TestSocket.connect(app.wsBase, session.id, user.key);
    const silent = TestSocket.connect(app.wsBase, session.id, user.key);
    await alive.next();
    await silent.next();
    let pings = 0;
    alive.socket.on('ping', () => pings++);
    // A peer that vanished without a close: it reads nothing, so it never answers a ping.
    (silent.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    await eventually(() => app.metrics.wsConnections === 1, 'the silent connection to be terminated');
    await eventually(() => pings >= 3, 'the live connection to keep being pinged');
    expect(alive.isClosed).toBe(false);
    alive.close();
  });
});
