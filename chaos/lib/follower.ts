import WebSocket from 'ws';
import { ServerEvent, WS_PATH, type Interaction, type ServerFrame, type Session } from '../../src/protocol/protocol.js';

/** What the suite compares between a client and the database. */
export interface View {
  version: number;
  name: string;
  interactions: Pick<Interaction, 'id' | 'prompt_message' | 'response_message' | 'state' | 'error'>[];
}

export function viewOf(session: Session): View {
  return {
    version: session.version,
    name: session.name,
    interactions: session.interactions.map(({ id, prompt_message, response_message, state, error }) => ({ id, prompt_message, response_message, state, error })),
  };
}

/**
 * A protocol client that follows one session, applies every frame, reconnects on any close
 * (full-jitter backoff from 100 ms doubling to 1 s, reset by a received frame, as the
 * browser client does) and records every ordering
 * violation it sees: a change at or below the version it holds, or a snapshot older than it.
 */
export class Follower {
  session: Session | null = null;
  version = 0;
  readonly disorder: string[] = [];
  readonly closeCodes = new Map<number, number>();
  errors = 0;
  connects = 0;
  private socket?: WebSocket;
  private stopped = false;
  private attempt = 0;

  constructor(
    private wsBase: string,
    readonly sessionId: string,
    private readonly key: string,
    private readonly reconnect = true,
  ) {}

  start(): this {
    this.open();
    return this;
  }

  /** Points later reconnects elsewhere (the next replica). */
  moveTo(wsBase: string): void {
    this.wsBase = wsBase;
  }

  stop(): void {
    this.stopped = true;
    this.socket?.terminate();
  }

  get open_(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  private open(): void {
    const socket = new WebSocket(`${this.wsBase}${WS_PATH}?session_id=${this.sessionId}&access_token=${encodeURIComponent(this.key)}`);
    this.socket = socket;
    this.connects++;
    socket.on('message', (data, isBinary) => {
      this.attempt = 0;
      if (!isBinary) this.apply(JSON.parse(data.toString()) as ServerFrame);
    });
    socket.on('error', () => undefined);
    socket.on('close', (code) => {
      this.closeCodes.set(code, (this.closeCodes.get(code) ?? 0) + 1);
      const delay = Math.min(1000, 100 * 2 ** this.attempt++) * (0.5 + Math.random() / 2);
      if (!this.stopped && this.reconnect) setTimeout(() => !this.stopped && this.open(), delay);
    });
  }

  private apply(frame: ServerFrame): void {
    if (frame.type === ServerEvent.Error) {
      this.errors++;
      return;
    }
    if (frame.type === ServerEvent.Pong) return;
    if (frame.type === ServerEvent.SessionUpdate) {
      if (frame.snapshot ? frame.version < this.version : frame.version <= this.version) {
        this.disorder.push(`${frame.snapshot ? 'snapshot' : 'session_update'} v${frame.version} while holding v${this.version}`);
        if (!frame.snapshot) return;
      }
      this.session = frame.session && !frame.since ? frame.session : frame.session ? this.merge(frame.session) : null;
      this.version = frame.version;
      return;
    }
    if (frame.type === ServerEvent.InteractionUpdate) {
      if (frame.version <= this.version) {
        this.disorder.push(`interaction_update v${frame.version} while holding v${this.version}`);
        return;
      }
      this.version = frame.version;
      if (!this.session) return;
      const list = this.session.interactions;
      const at = list.findIndex((item) => item.id === frame.interaction_id);
      if (at >= 0) list[at] = frame.interaction;
      else list.push(frame.interaction);
      this.session.version = frame.version;
    }
  }

  private merge(delta: Session): Session {
    const base = this.session ?? { ...delta, interactions: [] };
    const byId = new Map(base.interactions.map((item) => [item.id, item]));
    for (const item of delta.interactions) byId.set(item.id, item);
    return { ...delta, interactions: [...byId.values()] };
  }
}
