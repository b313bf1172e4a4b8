import { describe, expect, it } from '@jest/globals';
import { useTestApp } from './helpers/app.js';
import { eventually } from './helpers/ports.js';
import { TestSocket } from './helpers/ws.js';

describe('server ping loop', () => {
  const fx = useTestApp('pinged', { WS_PING_INTERVAL_MS: '100', WS_PONG_TIMEOUT_MS: '100' });

  it('terminates a connection that stops answering pings, and keeps one that answers', async () => {
    const session = await fx.user.createSession();
    const alive = TestSocket.connect(fx.app.wsBase, session.id, fx.user.key);
    const silent = TestSocket.connect(fx.app.wsBase, session.id, fx.user.key);
    await alive.next();
    await silent.next();
    let pings = 0;
    alive.socket.on('ping', () => pings++);
    // A peer that vanished without a close: it reads nothing, so it never answers a ping.
    (silent.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    await eventually(() => fx.app.metrics.wsConnections === 1, 'the silent connection to be terminated');
    await eventually(() => pings >= 3, 'the live connection to keep being pinged');
    expect(alive.isClosed).toBe(false);
    alive.close();
  });
});
