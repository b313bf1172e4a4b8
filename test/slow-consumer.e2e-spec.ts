import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Api } from './helpers/api.js';
import { TestApp } from './helpers/app.js';
import { eventually } from './helpers/ports.js';
import { TestSocket } from './helpers/ws.js';

describe('a client that stops reading', () => {
  let app: TestApp;
  let user: Api & { userId: string };

  beforeAll(async () => {
    app = await TestApp.start();
    user = await app.newUser('slow');
  });
  afterAll(() => app?.close());

  it('is dropped once too much is queued for it, while a reading client of the same session keeps going', async () => {
    const session = await user.createSession();
    const interaction = await user.addInteraction(session.id);
    const reader = TestSocket.connect(app.wsBase, session.id, user.key);
    const stalled = TestSocket.connect(app.wsBase, session.id, user.key);
    await reader.next();
    await stalled.next();
    // Stop reading: the kernel buffers fill, then the server's send buffer grows.
    (stalled.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    const chunk = 'x'.repeat(60_000);
    let version = 2;
    while (app.metrics.wsConnections > 1 && version < 400) {
      await user.updateInteraction(session.id, interaction.id, { response_message: `${version}${chunk}` });
      version++;
      await eventually(() => reader.lastVersion === version, `the reading client to hold version ${version}`);
    }
    await eventually(() => app.metrics.wsConnections === 1, 'the stalled socket to be dropped');
    expect(reader.isClosed).toBe(false);
    expect(reader.lastVersion).toBe(version);
    reader.close();
  });
});
