import type { WebSocket } from 'ws';

/**
 * A server-to-client WebSocket text frame exactly as it goes on the wire (RFC 6455 §5.2: FIN,
 * opcode 1, no mask, then the payload length and the payload), built once for every socket
 * that gets the same message. `ws` would frame the message again for each socket: a header
 * allocation, an options object and a corked two-buffer write per send; a fan-out to 10,000
 * sockets is then 10,000 writes of the same Buffer instead.
 */
export function textFrame(payload: Buffer): Buffer {
  const length = payload.length;
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81;
  if (header === 2) frame[1] = length;
  else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 0x1_0000_0000), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  payload.copy(frame, header);
  return frame;
}

/** What of `ws` 8's WebSocket this relies on: its Sender writes a list of buffers as they are. */
interface FrameWriter {
  _sender?: { _state?: unknown; sendFrame?: (list: Buffer[]) => void };
}

/** The Sender's idle state: nothing being compressed or read from a Blob, so no queue to respect. */
const SENDER_IDLE = 0;

/**
 * Whether frames built by textFrame() can be written to this socket: no extension was
 * negotiated (the service offers none, so a frame needs no compression bit), and the
 * installed `ws` has the Sender this relies on. A false answer means: use socket.send().
 */
export function takesWireFrames(socket: WebSocket): boolean {
  const sender = (socket as unknown as FrameWriter)._sender;
  return socket.extensions === '' && typeof sender?.sendFrame === 'function' && sender._state === SENDER_IDLE;
}

/** Writes a textFrame() to a socket that takes them (see takesWireFrames), in order with its other sends. */
export function writeWireFrame(socket: WebSocket, frame: Buffer): boolean {
  const sender = (socket as unknown as FrameWriter)._sender!;
  if (sender._state !== SENDER_IDLE) return false;
  sender.sendFrame!([frame]);
  return true;
}
