/**
 * @jest-environment ./web/src/client/testing/jsdom-environment.js
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { act } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { ConnectionStatus } from '../app/ConnectionStatus.js';
import { Transcript } from '../app/Transcript.js';
import { useSession } from './react.js';
import { installDom } from './testing/dom.js';
import { FakeWebSocket } from './testing/fake-websocket.js';
import { SESSION_ID, interaction, interactionUpdate, session, sessionUpdate } from './testing/fixtures.js';
import { CloseCode } from '../../../src/protocol/protocol.js';

function Harness() {
  const { session, status, reason } = useSession(SESSION_ID, {
    baseUrl: 'http://svc.test',
    WebSocket: FakeWebSocket,
    wakeSignals: () => () => {},
  });
  return (
    <>
      <ConnectionStatus status={status} reason={reason} />
      <Transcript interactions={session?.interactions ?? []} />
    </>
  );
}

let uninstall: () => void;
let root: Root;
let container: HTMLElement;

beforeEach(async () => {
  uninstall = installDom();
  FakeWebSocket.instances = [];
  container = document.createElement('div');
  document.body.append(container);
  root = createRoot(container);
  await act(async () => root.render(<Harness />));
});
afterEach(async () => {
  await act(async () => root.unmount());
  uninstall();
});

const q = (sel: string) => container.querySelector(sel)!;
const renders = (n: number) => Number(q(`[data-interaction-id="${interaction(n).id}"]`).getAttribute('data-render-count'));
const frame = (f: unknown) => act(() => FakeWebSocket.last.receive(f));

describe('useSession with the transcript', () => {
  it('shows the connection state, then the snapshot, and re-renders only the interaction that changed', async () => {
    expect(q('[data-testid="connection-status"]').getAttribute('data-state')).toBe('connecting');
    await act(() => FakeWebSocket.last.open());
    await frame(sessionUpdate(2, session(2, [interaction(1), interaction(2), interaction(3)])));
    expect(q('[data-testid="connection-status"]').getAttribute('data-state')).toBe('connected');
    expect(container.querySelectorAll('[data-interaction-id]')).toHaveLength(3);
    const before = [renders(1), renders(2), renders(3)];

    await frame(interactionUpdate(3, interaction(2, { state: 'editing', response_message: 'partial' })));
    expect(renders(1)).toBe(before[0]);
    expect(renders(2)).toBe(before[1] + 1);
    expect(renders(3)).toBe(before[2]);
    expect(q(`[data-interaction-id="${interaction(2).id}"] [data-testid="response"]`).textContent).toBe('partial');

    // A redundant snapshot, a duplicate and a newer snapshot with equal content re-render nothing.
    await frame(sessionUpdate(3, session(3, [interaction(1), interaction(2), interaction(3)])));
    await frame(interactionUpdate(3, interaction(1, { state: 'error' })));
    await frame(sessionUpdate(4, session(4, [interaction(1), interaction(2, { state: 'editing', response_message: 'partial' }), interaction(3)])));
    expect([renders(1), renders(2), renders(3)]).toEqual([before[0], before[1] + 1, before[2]]);
  });

  it('shows why it stopped', async () => {
    await act(() => FakeWebSocket.last.open());
    await act(() => FakeWebSocket.last.serverClose(CloseCode.Unauthorized, 'invalid API key'));
    const status = q('[data-testid="connection-status"]');
    expect(status.getAttribute('data-state')).toBe('stopped');
    expect(status.getAttribute('data-reason-code')).toBe('4401');
    expect(status.textContent).toContain('invalid API key');
  });

  it('closes the socket on unmount', async () => {
    const ws = FakeWebSocket.last;
    await act(() => ws.open());
    await act(async () => root.render(<></>));
    expect(ws.closedWith).toBe(CloseCode.Normal);
  });
});
