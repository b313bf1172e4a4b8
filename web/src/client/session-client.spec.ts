import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import {
  ClientEvent,
  CloseCode,
  RECONNECT_CLOSE_CODES,
  ServerEvent,
  TERMINAL_CLOSE_CODES,
} from '../../../src/protocol/protocol.js';
import { SessionClient } from './session-client.js';
import { SessionClientState, type SessionClientOptions } from './types.js';
import { backoff } from './utils.js';
import { FakeWebSocket } from './testing/fake-websocket.js';
import { SESSION_ID, deltaUpdate, interaction, interactionAppend, interactionUpdate, session, sessionUpdate } from './testing/fixtures.js';

const base = { sessionId: SESSION_ID, baseUrl: 'http://svc.test:8080', WebSocket: FakeWebSocket, wakeSignals: () => () => {} };

function makeClient(options: Partial<SessionClientOptions> = {}): SessionClient {
  const client = new SessionClient({ ...base, ...options });
  client.connect();
  return client;
}

/** Opens the latest socket and sends the server's first snapshot. */
function goConnected(version = 1, interactions = [interaction(1)]): FakeWebSocket {
  const ws = FakeWebSocket.last;
  ws.open();
  ws.receive(sessionUpdate(version, session(version, interactions)));
  return ws;
}

/** Advances fake time until the client opens another socket; returns how long that took. */
function waitForNextSocket(limit = 60_000): number {
  const count = FakeWebSocket.instances.length;
  let waited = 0;
  while (FakeWebSocket.instances.length === count && waited < limit) {
    jest.advanceTimersByTime(1);
    waited++;
  }
  return waited;
}

beforeEach(() => {
  FakeWebSocket.instances = [];
  jest.useFakeTimers();
});
afterEach(() => {
  jest.useRealTimers();
});

describe('SessionClient connection', () => {
  it('opens the user endpoint with the session id and, when given, the key', () => {
    makeClient({ accessToken: 'k y' });
    expect(FakeWebSocket.last.url).toBe(`ws://svc.test:8080/api/v1/ws/user?session_id=${SESSION_ID}&delta=append&access_token=k+y`);
    FakeWebSocket.instances = [];
    makeClient();
    expect(FakeWebSocket.last.url).not.toContain('access_token');
  });

  it('goes connecting → connected on the first snapshot, not on open', () => {
    const client = makeClient();
    const seen: string[] = [];
    client.subscribe((s) => seen.push(s.status));
    FakeWebSocket.last.open();
    expect(client.state).toBe(SessionClientState.Connecting);
    FakeWebSocket.last.receive(sessionUpdate(2, session(2, [interaction(1)])));
    expect(client.state).toBe(SessionClientState.Connected);
    expect(client.getSnapshot().version).toBe(2);
    expect(seen.at(-1)).toBe(SessionClientState.Connected);
  });

  it('keeps the snapshot object and notifies nobody for duplicates', () => {
    const client = makeClient();
    const ws = goConnected(3);
    const before = client.getSnapshot();
    const listener = jest.fn();
    client.subscribe(listener);
    ws.receive(sessionUpdate(3, session(3, [interaction(1)])));
    ws.receive(interactionUpdate(2, interaction(1, { state: 'complete' })));
    expect(client.getSnapshot()).toBe(before);
    expect(listener).not.toHaveBeenCalled();
  });

  it.each(RECONNECT_CLOSE_CODES.map((c) => [c]))('reconnects after close %i', (code) => {
    const client = makeClient();
    goConnected();
    FakeWebSocket.last.serverClose(code);
    expect(client.state).toBe(SessionClientState.Reconnecting);
    expect(waitForNextSocket()).toBeLessThan(20_000);
    expect(FakeWebSocket.instances).toHaveLength(2);
    goConnected(2);
    expect(client.state).toBe(SessionClientState.Connected);
  });

  it.each(TERMINAL_CLOSE_CODES.map((c) => [c]))('stops for good after close %i and says why', (code) => {
    const client = makeClient();
    FakeWebSocket.last.open();
    FakeWebSocket.last.serverClose(code, 'nope');
    expect(client.getSnapshot()).toMatchObject({ status: SessionClientState.Stopped, reason: { code, message: 'nope' } });
    jest.advanceTimersByTime(10 * 60_000);
    expect(FakeWebSocket.instances).toHaveLength(1);
  });

  it('stops at once when the session is gone, before the 4404 close arrives', () => {
    const client = makeClient();
    const ws = goConnected(4);
    ws.receive(sessionUpdate(5, null, false));
    const snap = client.getSnapshot();
    expect(snap).toMatchObject({ status: SessionClientState.Stopped, session: null, gone: true });
    expect(snap.reason).toEqual({ code: CloseCode.SessionNotFound, message: 'session not found' });
    ws.serverClose(CloseCode.SessionNotFound);
    jest.advanceTimersByTime(60_000);
    expect(FakeWebSocket.instances).toHaveLength(1);
  });

  it('keeps the state across a reconnect and ignores a snapshot that brings nothing new', () => {
    const client = makeClient();
    goConnected(3, [interaction(1), interaction(2)]);
    const session1 = client.getSnapshot().session;
    FakeWebSocket.last.serverClose(CloseCode.Abnormal);
    waitForNextSocket();
    goConnected(3, [interaction(1), interaction(2)]);
    expect(client.getSnapshot().session).toBe(session1);
  });

  it('disconnect() stops, closes the socket and cancels any retry', () => {
    const client = makeClient();
    goConnected();
    const ws = FakeWebSocket.last;
    client.disconnect();
    expect(ws.closedWith).toBe(CloseCode.Normal);
    expect(client.getSnapshot().reason?.code).toBe(CloseCode.Normal);
    ws.serverClose(CloseCode.Abnormal); // late event of the abandoned socket
    jest.advanceTimersByTime(60_000);
    expect(FakeWebSocket.instances).toHaveLength(1);
    expect(client.state).toBe(SessionClientState.Stopped);
  });
});

describe('SessionClient ordering', () => {
  it('sends one sync on a gap, applies nothing past it, then applies the snapshot', () => {
    const client = makeClient();
    const ws = goConnected(3);
    ws.receive(interactionUpdate(5, interaction(1, { state: 'complete' })));
    ws.receive(interactionUpdate(6, interaction(1, { state: 'error' })));
    expect(ws.sent).toEqual([{ type: ClientEvent.Sync }]);
    expect(client.getSnapshot().version).toBe(3);
    ws.receive(sessionUpdate(6, session(6, [interaction(1, { state: 'error' })])));
    expect(client.getSnapshot().version).toBe(6);
    expect(client.getSnapshot().session?.interactions[0].state).toBe('error');
    ws.receive(interactionUpdate(8, interaction(1)));
    expect(ws.sent).toEqual([{ type: ClientEvent.Sync }, { type: ClientEvent.Sync }]);
  });

  it('applies version last + 1 and keeps unchanged interactions identical', () => {
    const client = makeClient();
    const ws = goConnected(1, [interaction(1), interaction(2)]);
    const [first] = client.getSnapshot().session!.interactions;
    ws.receive(interactionUpdate(2, interaction(2, { response_message: 'hi' })));
    const after = client.getSnapshot().session!.interactions;
    expect(after[0]).toBe(first);
    expect(after[1].response_message).toBe('hi');
  });

  it('ignores frames for another session', () => {
    const client = makeClient();
    const ws = goConnected(1);
    const before = client.getSnapshot();
    ws.receive({ ...interactionUpdate(2, interaction(1)), session_id: '33333333-3333-4333-8333-333333333333' });
    expect(client.getSnapshot()).toBe(before);
  });
});

describe('SessionClient resume (since) and append deltas', () => {
  const query = (ws: FakeWebSocket) => new URL(ws.url).searchParams;

  it('asks for append deltas always, and for since = the held version on every reconnect', () => {
    const client = makeClient();
    expect(query(FakeWebSocket.last).get('delta')).toBe('append');
    expect(query(FakeWebSocket.last).has('since')).toBe(false);
    // Dropped before any snapshot: still nothing to resume from.
    FakeWebSocket.last.serverClose(CloseCode.Abnormal);
    waitForNextSocket();
    expect(query(FakeWebSocket.last).has('since')).toBe(false);
    const ws = goConnected(3);
    ws.receive(interactionAppend(4, interaction(1).id, 'abc'));
    ws.serverClose(CloseCode.ServiceRestart);
    waitForNextSocket();
    expect(query(FakeWebSocket.last).getAll('since')).toEqual(['4']);
    expect(query(FakeWebSocket.last).getAll('delta')).toEqual(['append']);
    expect(client.getSnapshot().session!.interactions[0].response_message).toBe('abc');
  });

  it('merges the delta snapshot of a reconnect, keeping untouched interactions and entering connected', () => {
    const client = makeClient();
    goConnected(3, [interaction(1), interaction(2)]);
    const before = client.getSnapshot().session!.interactions;
    FakeWebSocket.last.serverClose(CloseCode.Abnormal);
    waitForNextSocket();
    expect(client.state).toBe(SessionClientState.Reconnecting);
    const ws = FakeWebSocket.last;
    ws.open();
    ws.receive(deltaUpdate(5, 3, session(5, [interaction(2, { response_message: 'new', version: 4 }), interaction(3, { version: 5 })])));
    const { session: merged, version, status } = client.getSnapshot();
    expect({ version, status }).toEqual({ version: 5, status: SessionClientState.Connected });
    expect(merged!.interactions.map((i) => i.response_message)).toEqual(['', 'new', '']);
    expect(merged!.interactions[0]).toBe(before[0]);
    expect(ws.sent).toEqual([]);
  });

  it('answers a delta it cannot merge with one sync, and connects on the full snapshot', () => {
    const client = makeClient();
    goConnected(3);
    FakeWebSocket.last.serverClose(CloseCode.Abnormal);
    waitForNextSocket();
    const ws = FakeWebSocket.last;
    ws.open();
    // A `since` beyond the held version: what changed in between is missing from it.
    ws.receive(deltaUpdate(6, 5, session(6, [interaction(1, { response_message: 'x', version: 6 })])));
    ws.receive(interactionAppend(7, interaction(1).id, 'y'));
    expect(ws.sent).toEqual([{ type: ClientEvent.Sync }]);
    expect(client.getSnapshot()).toMatchObject({ version: 3, status: SessionClientState.Reconnecting });
    ws.receive(sessionUpdate(7, session(7, [interaction(1, { response_message: 'xy', version: 7 })])));
    expect(client.getSnapshot()).toMatchObject({ version: 7, status: SessionClientState.Connected });
    expect(client.getSnapshot().session!.interactions[0].response_message).toBe('xy');
  });

  it('applies appends in order, drops duplicates, and syncs once on a gap or an unknown interaction', () => {
    const client = makeClient();
    const ws = goConnected(2, [interaction(1), interaction(2)]);
    const [first, second] = client.getSnapshot().session!.interactions;
    ws.receive(interactionAppend(3, second.id, 'Hel'));
    ws.receive(interactionAppend(4, second.id, 'lo', { state: 'complete' }));
    ws.receive(interactionAppend(4, second.id, 'lo'));
    let now = client.getSnapshot().session!;
    expect(now.interactions[0]).toBe(first);
    expect(now.interactions[1]).toMatchObject({ response_message: 'Hello', state: 'complete', version: 4 });
    expect(ws.sent).toEqual([]);

    ws.receive(interactionAppend(6, second.id, '!'));
    ws.receive(interactionAppend(7, second.id, '!'));
    expect(ws.sent).toEqual([{ type: ClientEvent.Sync }]);
    ws.receive(sessionUpdate(7, session(7, [interaction(1), interaction(2, { response_message: 'Hello!!', state: 'complete', version: 7 })])));
    ws.receive(interactionAppend(8, interaction(3).id, '?'));
    expect(ws.sent).toEqual([{ type: ClientEvent.Sync }, { type: ClientEvent.Sync }]);
    now = client.getSnapshot().session!;
    expect(client.getSnapshot().version).toBe(7);
    expect(now.interactions[0]).toBe(first);
    expect(now.interactions[1].response_message).toBe('Hello!!');
  });
});

describe('SessionClient liveness', () => {
  it('pings every pingInterval and reconnects when no pong arrives within pongTimeout', () => {
    const client = makeClient({ pingInterval: 1000, pongTimeout: 500 });
    const ws = goConnected();
    jest.advanceTimersByTime(1000);
    expect(ws.sent).toEqual([{ type: ClientEvent.Ping }]);
    ws.receive({ type: ServerEvent.Pong });
    jest.advanceTimersByTime(1000);
    expect(ws.sent).toHaveLength(2);
    jest.advanceTimersByTime(499);
    expect(client.state).toBe(SessionClientState.Connected);
    jest.advanceTimersByTime(1);
    expect(client.state).toBe(SessionClientState.Reconnecting);
    expect(ws.closedWith).toBe(CloseCode.Normal);
  });

  it('gives up on a connection that never sends its snapshot', () => {
    const client = makeClient({ connectTimeout: 3000 });
    FakeWebSocket.last.open();
    jest.advanceTimersByTime(3000);
    expect(client.state).toBe(SessionClientState.Reconnecting);
  });

  it('retries at once on a wake signal, only while waiting out a backoff', () => {
    let wake = () => {};
    const client = makeClient({ wakeSignals: (w) => ((wake = w), () => {}), random: () => 0.99 });
    goConnected();
    wake();
    expect(FakeWebSocket.instances).toHaveLength(1);
    FakeWebSocket.last.serverClose(CloseCode.Abnormal);
    wake();
    expect(FakeWebSocket.instances).toHaveLength(2);
    wake(); // an attempt is already under way
    expect(FakeWebSocket.instances).toHaveLength(2);
  });
});

describe('reconnect delays', () => {
  it('backoff stays within [0, min(max, min·2^step)) and uses the whole window', () => {
    for (const step of [0, 1, 3, 6, 10, 40]) {
      const ceiling = Math.min(20_000, 500 * 2 ** step);
      const samples = Array.from({ length: 2000 }, () => backoff(step, 500, 20_000));
      expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...samples)).toBeLessThan(ceiling);
      expect(Math.min(...samples)).toBeLessThan(ceiling * 0.05);
      expect(Math.max(...samples)).toBeGreaterThan(ceiling * 0.95);
    }
    expect(backoff(2, 500, 20_000, () => 0)).toBe(0);
    expect(backoff(2, 500, 20_000, () => 0.5)).toBe(1000);
  });

  it('waits a growing, jittered delay between failed attempts', () => {
    makeClient({ random: () => 0.999, minReconnectDelay: 100, maxReconnectDelay: 1000 });
    const expected = [99, 199, 399, 799, 999, 999];
    for (const delay of expected) {
      FakeWebSocket.last.serverClose(CloseCode.Abnormal);
      const count = FakeWebSocket.instances.length;
      jest.advanceTimersByTime(delay - 1);
      expect(FakeWebSocket.instances).toHaveLength(count);
      jest.advanceTimersByTime(1);
      expect(FakeWebSocket.instances).toHaveLength(count + 1);
    }
  });

  it('starts the backoff over once a connection was established', () => {
    makeClient({ random: () => 0.999, minReconnectDelay: 100 });
    for (let i = 0; i < 4; i++) {
      FakeWebSocket.last.serverClose(CloseCode.TryAgainLater);
      jest.advanceTimersByTime(2000);
    }
    goConnected();
    FakeWebSocket.last.serverClose(CloseCode.InternalError);
    jest.advanceTimersByTime(99);
    expect(FakeWebSocket.instances).toHaveLength(6);
  });

  it('after 1012 comes back within a short random delay, not a backoff', () => {
    const delays: number[] = [];
    for (const r of [0, 0.25, 0.999]) {
      FakeWebSocket.instances = [];
      makeClient({ random: () => r, minReconnectDelay: 5000 });
      goConnected();
      FakeWebSocket.last.serverClose(CloseCode.ServiceRestart);
      delays.push(waitForNextSocket());
    }
    expect(delays[0]).toBeLessThanOrEqual(1);
    expect(delays[1]).toBe(250);
    expect(delays[2]).toBe(999);
  });
});
