import { describe, expect, it } from '@jest/globals';
import { useTestApp } from './helpers/app.js';
import { eventually } from './helpers/ports.js';
import { TestSocket } from './helpers/ws.js';

describe('a client that stops reading', () => {
  const fx = useTestApp('slow');

  it('is dropped once too much is queued for it, while a reading client of the same session keeps going', async () => {
    const session = await fx.user.createSession();
    const interaction = await fx.user.addInteraction(session.id);
    const reader = TestSocket.connect(fx.app.wsBase, session.id, fx.user.key);
    const stalled = TestSocket.connect(fx.app.wsBase, session.id, fx.user.key);
    await reader.next();
    await stalled.next();
    // Stop reading: the kernel buffers fill, then the server's send buffer grows.
    (stalled.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    const chunk = 'x'.repeat(60_000);
    let version = 2;
    while (fx.app.metrics.wsConnections > 1 && version < 400) {
      await fx.user.updateInteraction(session.id, interaction.id, { response_message: `${version}${chunk}` });
      version++;
      await eventually(() => reader.lastVersion === version, `the reading client to hold version ${version}`);
    }
    await eventually(() => fx.app.metrics.wsConnections === 1, 'the stalled socket to be dropped');
    expect(reader.isClosed).toBe(false);
    expect(reader.lastVersion).toBe(version);
    reader.close();
  });
});
