import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { InteractionUpdateEvent, SessionUpdateEvent } from '../src/protocol/protocol.js';
import { applyInteractionUpdate, applySessionUpdate, initialSessionState } from '../web/src/client/reducer.js';
import type { Api } from './helpers/api.js';
import { TestApp } from './helpers/app.js';
import { eventually, sleep } from './helpers/ports.js';
import { isSnapshot } from './helpers/recording-client.js';
import { TestSocket } from './helpers/ws.js';

const WAVES = 10;
const CLIENTS_PER_WAVE = 5;
/** Writes committed between two waves, so the waves land at different points of the stream. */
const WRITES_BETWEEN_WAVES = 3;

/**
 * The race the snapshot-then-live order exists for: connections that open while changes are
 * being committed. A change committed between a connection's subscription and its snapshot
 * read must be neither lost nor sent twice, and nothing may leave out of order.
 */
describe('connects racing a continuous writer', () => {
  let app: TestApp;
  let alice: Api;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    // No periodic version check: it could mend a lost change and hide it.
    app = await TestApp.start({ VERSION_CHECK_INTERVAL_MS: '0' });
    alice = await app.newUser('alice');
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await app?.close();
  });

  it('every client ends on the database version, snapshot first, each version once and in order', async () => {
    const session = await alice.createSession('raced');
    const interaction = await alice.addInteraction(session.id, 'stream into me');
    let writing = true;
    let writes = 0;
    const writer = (async () => {
      while (writing) await alice.updateInteraction(session.id, interaction.id, { append: `${++writes}.` });
    })();

    // Waves of concurrent connects (which share reads and kept state), each after the writer
    // has moved on: spread over the stream by construction, not by timing.
    for (let wave = 0; wave < WAVES; wave++) {
      const after = writes + WRITES_BETWEEN_WAVES;
      await eventually(() => writes >= after, 'the writer moved on', 20_000);
      for (let i = 0; i < CLIENTS_PER_WAVE; i++) sockets.push(TestSocket.connect(app.wsBase, session.id, alice.key));
      await sleep(Math.random() * 20);
    }
    // Let the last connections see some live changes too.
    await sleep(200);
    writing = false;
    await writer;
    const final = await alice.getSession(session.id);
    expect(final.version).toBe(2 + writes);

    await eventually(() => sockets.every((socket) => socket.lastVersion === final.version), 'every client at the database version', 20_000);

    const snapshotVersions = new Set<number>();
    for (const socket of sockets) {
      expect(isSnapshot(socket.frames[0])).toBe(true);
      expect(socket.frames.filter(isSnapshot)).toHaveLength(1);
      expect(socket.isClosed).toBe(false);
      snapshotVersions.add((socket.frames[0] as SessionUpdateEvent).version);
      const versions = socket.frames.map((frame) => ('version' in frame ? frame.version : NaN));
      for (let i = 1; i < versions.length; i++) expect(versions[i]).toBe(versions[i - 1] + 1);

      // Applied by the client's own rules, the frames rebuild exactly the committed state.
      let state = initialSessionState;
      for (const frame of socket.frames) {
        const result =
          frame.type === 'session_update' ? applySessionUpdate(state, frame as SessionUpdateEvent) : applyInteractionUpdate(state, frame as InteractionUpdateEvent);
        expect(result.needSync).toBe(false);
        state = result.state;
      }
      expect(state.version).toBe(final.version);
      expect(state.session!.interactions).toEqual(final.interactions);
    }
    // The connects really landed at different points of the write stream.
    expect(snapshotVersions.size).toBeGreaterThanOrEqual(WAVES / 2);
  });
});
