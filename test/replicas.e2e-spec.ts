import { describe, expect, it } from '@jest/globals';
import { CloseCode, ErrorCode, ServerEvent, type InteractionUpdateEvent, type SessionUpdateEvent } from '../src/protocol/protocol.js';
import { isSnapshot } from './helpers/recording-client.js';
import { useReplicas } from './helpers/replicas.js';
import { TestSocket } from './helpers/ws.js';

describe('replicas on one database and one NATS', () => {
  const fx = useReplicas();

  it('delivers every kind of change written through one replica to a client of the other', async () => {
    const session = await fx.viaB.createSession('shared');
    const client = TestSocket.connect(fx.a.wsBase, session.id, fx.replicas.apiKey);
    expect(await client.next()).toMatchObject({ type: ServerEvent.SessionUpdate, snapshot: true, version: 1 });

    const interaction = await fx.viaB.addInteraction(session.id, 'from b');
    const added = await client.next<InteractionUpdateEvent>((f) => f.type === ServerEvent.InteractionUpdate && f.version === 2);
    expect(added).toMatchObject({ session_id: session.id, interaction_id: interaction.id, interaction: { prompt_message: 'from b', state: 'waiting' } });

    await fx.viaB.updateInteraction(session.id, interaction.id, { append: 'streamed' });
    const appended = await client.next<InteractionUpdateEvent>((f) => f.type === ServerEvent.InteractionUpdate && f.version === 3);
    expect(appended.interaction.response_message).toBe('streamed');

    await fx.viaB.renameSession(session.id, 'renamed on b');
    const renamed = await client.next<SessionUpdateEvent>((f) => f.type === ServerEvent.SessionUpdate && !isSnapshot(f));
    expect(renamed).toMatchObject({ version: 4, snapshot: false, session: { name: 'renamed on b', version: 4 } });
    expect(renamed.session!.interactions).toHaveLength(1);

    await fx.viaB.deleteSession(session.id);
    const gone = await client.next<SessionUpdateEvent>((f) => f.type === ServerEvent.SessionUpdate && f.session === null);
    expect(gone).toMatchObject({ version: 5, snapshot: false, error: { code: ErrorCode.SessionNotFound } });
    expect((await client.closed).code).toBe(CloseCode.SessionNotFound);
    expect(client.frames.map((f) => ('version' in f ? f.version : -1))).toEqual([1, 2, 3, 4, 5]);
  });

  it('fans a change out to clients of both replicas, the writer\'s own included', async () => {
    const session = await fx.viaB.createSession('both sides');
    const clients = [fx.a, fx.b, fx.a, fx.b].map((replica) => TestSocket.connect(replica.wsBase, session.id, fx.replicas.apiKey));
    await Promise.all(clients.map((client) => client.next(isSnapshot)));
    await fx.viaA.addInteraction(session.id, 'from a');
    for (const client of clients) {
      expect(await client.next((f) => f.type === ServerEvent.InteractionUpdate)).toMatchObject({ version: 2, interaction: { prompt_message: 'from a' } });
      client.close();
    }
  });
});
