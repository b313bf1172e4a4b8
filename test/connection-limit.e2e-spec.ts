import { describe, expect, it } from '@jest/globals';
import { CloseCode, ErrorCode, ServerEvent, type ErrorEvent } from '../src/protocol/protocol.js';
import { useTestApp } from './helpers/app.js';
import { isSnapshot } from './helpers/recording-client.js';
import { TestSocket } from './helpers/ws.js';

/** WS_MAX_CONNECTIONS_PER_KEY: one key cannot hold more than its share of a process's sockets. */
describe('WebSocket connections per API key', () => {
  const fixture = useTestApp('capped', { WS_MAX_CONNECTIONS_PER_KEY: '2' });

  it('answers the connection past the cap with rate_limited + 1013, leaves other keys alone, and frees the slot on close', async () => {
    const session = await fixture.user.createSession('capped');
    const first = TestSocket.connect(fixture.app.wsBase, session.id, fixture.user.key);
    const second = TestSocket.connect(fixture.app.wsBase, session.id, fixture.user.key);
    expect(isSnapshot(await first.next())).toBe(true);
    expect(isSnapshot(await second.next())).toBe(true);

    const third = TestSocket.connect(fixture.app.wsBase, session.id, fixture.user.key);
    const refusal = await third.next<ErrorEvent>((frame) => frame.type === ServerEvent.Error);
    expect(refusal.error).toMatchObject({ code: ErrorCode.RateLimited, retryable: true, message: expect.stringMatching(/WS_MAX_CONNECTIONS_PER_KEY/) });
    expect((await third.closed).code).toBe(CloseCode.TryAgainLater);

    const other = await fixture.app.newUser('other');
    const theirs = await other.createSession('theirs');
    const otherSocket = TestSocket.connect(fixture.app.wsBase, theirs.id, other.key);
    expect(isSnapshot(await otherSocket.next())).toBe(true);

    first.close();
    await first.closed;
    const again = TestSocket.connect(fixture.app.wsBase, session.id, fixture.user.key);
    expect(isSnapshot(await again.next(undefined, 5000))).toBe(true);
    for (const socket of [second, otherSocket, again]) socket.close();
  });
});
