import WebSocket from 'ws';
import type { ServerFrame, SessionUpdateEvent } from '../../src/protocol/protocol.js';
import { SessionClient } from '../../web/src/client/session-client.js';
import type { SessionClientOptions, SessionClientSnapshot, WebSocketConstructor } from '../../web/src/client/types.js';

/** One WebSocket the client opened, as the wire saw it. */
export interface RecordedConnection {
  opened: boolean;
  frames: ServerFrame[];
  closeCode?: number;
}

/**
 * The browser SessionClient on `ws`, with every socket it opens recorded, so a test can count
 * reconnects and snapshots from the wire rather than infer them from the client's state.
 * Backoff is shortened: the tests wait for reconnects, and the defaults (0.5 s doubling to
 * 20 s) would only make them slower, not different.
 */
export class RecordingClient {
  readonly connections: RecordedConnection[] = [];
  readonly client: SessionClient;

  constructor(options: Omit<SessionClientOptions, 'WebSocket'>) {
    const connections = this.connections;
    class RecordingWebSocket extends WebSocket {
      constructor(url: string) {
        super(url);
        const record: RecordedConnection = { opened: false, frames: [] };
        connections.push(record);
        this.on('open', () => (record.opened = true));
        this.on('message', (data, isBinary) => {
          if (!isBinary) record.frames.push(JSON.parse(data.toString()) as ServerFrame);
        });
        this.on('close', (code) => (record.closeCode = code));
        this.on('error', () => undefined);
      }
    }
    this.client = new SessionClient({
      minReconnectDelay: 100,
      maxReconnectDelay: 1000,
      restartReconnectDelay: 300,
      ...options,
      WebSocket: RecordingWebSocket as unknown as WebSocketConstructor,
    });
  }

  static connect(options: Omit<SessionClientOptions, 'WebSocket'>): RecordingClient {
    const recording = new RecordingClient(options);
    recording.client.connect();
    return recording;
  }

  get state(): SessionClientSnapshot {
    return this.client.getSnapshot();
  }

  /** Connections on which the server said something: the ones that were established. */
  get established(): RecordedConnection[] {
    return this.connections.filter((connection) => connection.frames.length > 0);
  }

  disconnect(): void {
    this.client.disconnect();
  }
}

/** Whether a frame is a `session_update` snapshot. */
export function isSnapshot(frame: ServerFrame | undefined): frame is SessionUpdateEvent {
  return frame?.type === 'session_update' && frame.snapshot === true;
}
