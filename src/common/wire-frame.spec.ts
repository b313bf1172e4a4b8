import { describe, expect, it } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { takesWireFrames, textFrame, writeWireFrame } from './wire-frame.js';

describe('textFrame', () => {
  it('frames a text payload as RFC 6455 does: FIN + opcode 1, unmasked, in the shortest length form', () => {
    for (const [length, header] of [
      [0, [0x81, 0]],
      [125, [0x81, 125]],
      [126, [0x81, 126, 0, 126]],
      [65535, [0x81, 126, 0xff, 0xff]],
      [65536, [0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]],
    ] as const) {
      const payload = Buffer.alloc(length, 'x');
      const frame = textFrame(payload);
      expect([...frame.subarray(0, header.length)]).toEqual(header);
      expect(frame.length).toBe(header.length + length);
      expect(frame.subarray(header.length).equals(payload)).toBe(true);
    }
  });
});

describe('writing wire frames to a real ws socket', () => {
  it('reaches the client as the same messages, in order with what socket.send() sends', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    const accepted = new Promise<WebSocket>((resolve) => server.once('connection', resolve));
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, { perMessageDeflate: false });
    const received: string[] = [];
    const all = new Promise<void>((resolve) =>
      client.on('message', (data: Buffer) => {
        received.push(data.toString());
        if (received.length === 4) resolve();
      }),
    );
    const socket = await accepted;
    try {
      // The installed ws has what this relies on: if an upgrade changes it, this fails here
      // rather than every fan-out silently taking the slower path.
      expect(takesWireFrames(socket)).toBe(true);
      const big = 'é'.repeat(40_000);
      socket.send(Buffer.from('first'), { binary: false });
      expect(writeWireFrame(socket, textFrame(Buffer.from('{"n":2}')))).toBe(true);
      expect(writeWireFrame(socket, textFrame(Buffer.from(big)))).toBe(true);
      socket.send(Buffer.from('last'), { binary: false });
      await all;
      expect(received).toEqual(['first', '{"n":2}', big, 'last']);
    } finally {
      client.terminate();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('is refused for a socket that negotiated compression, which needs ws to frame each message', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: true });
    await new Promise((resolve) => server.once('listening', resolve));
    const accepted = new Promise<WebSocket>((resolve) => server.once('connection', resolve));
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, { perMessageDeflate: true });
    const socket = await accepted;
    await new Promise((resolve) => client.once('open', resolve));
    try {
      expect(socket.extensions).toContain('permessage-deflate');
      expect(takesWireFrames(socket)).toBe(false);
    } finally {
      client.terminate();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
