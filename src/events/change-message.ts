import { INTERACTION_STATES, ServerEvent, type Interaction, type InteractionUpdateEvent, type Session, type VersionedEvent } from '../protocol/protocol.js';
import { textFrame } from '../common/wire-frame.js';
import { interactionAppendFrame, type AppendDelta } from './session-events.js';

const NEWLINE = 0x0a;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * The bus message of one committed change: the v1 frame's JSON, exactly as v1 sockets get
 * it, followed, for an append only, by a newline and the AppendDelta's JSON.
 *
 * JSON.stringify never writes a raw newline, so the first line is always the whole v1
 * frame: every process hands those bytes to its v1 sockets as they came (serialized once,
 * by the publisher), and builds the `interaction_append` form from the two parts once, when
 * its first `delta=append` socket needs it. A message without a second line (every change
 * but an append, or one from a publisher that predates deltas) serves both kinds of socket.
 */
export function encodeChange(frame: VersionedEvent, delta?: AppendDelta): Uint8Array {
  const json = JSON.stringify(frame);
  return encoder.encode(delta ? `${json}\n${JSON.stringify(delta)}` : json);
}

/** One change as a receiving process sees it: its content, and its frames built at most once. */
export class ChangeMessage {
  /** `state`: full session (PATCH); `interaction`: one interaction; `gone`: session deleted. */
  readonly kind: 'state' | 'interaction' | 'gone';
  private appendBytes?: Buffer;
  private dataFrame?: Buffer;
  private appendFrame?: Buffer;

  private constructor(
    readonly frame: VersionedEvent,
    /** The v1 frame: the bytes of the message's first line. */
    readonly data: Buffer,
    readonly delta: AppendDelta | undefined,
  ) {
    this.kind = frame.type !== ServerEvent.SessionUpdate ? 'interaction' : frame.session === null ? 'gone' : 'state';
  }

  get version(): number {
    return this.frame.version;
  }

  /** The full interaction of an `interaction` change. */
  get interaction(): Interaction | undefined {
    return this.kind === 'interaction' ? (this.frame as InteractionUpdateEvent).interaction : undefined;
  }

  /** The full session of a `state` change. */
  get session(): Session | undefined {
    return this.kind === 'state' ? (this.frame as { session: Session }).session : undefined;
  }

  /** The frame for `delta=append` sockets: the chunk for an append, the v1 frame otherwise. */
  get appendData(): Buffer {
    if (!this.delta) return this.data;
    const frame = this.frame as InteractionUpdateEvent;
    this.appendBytes ??= Buffer.from(JSON.stringify(interactionAppendFrame(frame.owner, frame.version, frame.interaction, this.delta)));
    return this.appendBytes;
  }

  /** `data` as a WebSocket frame, built when the first socket needs it and written to every one. */
  get dataWire(): Buffer {
    return (this.dataFrame ??= textFrame(this.data));
  }

  /** `appendData` as a WebSocket frame, likewise. */
  get appendWire(): Buffer {
    if (!this.delta) return this.dataWire;
    return (this.appendFrame ??= textFrame(this.appendData));
  }

  /** Null for anything that is not a well-formed change message: the caller drops it. */
  static decode(payload: Uint8Array): ChangeMessage | null {
    const newline = payload.indexOf(NEWLINE);
    const end = newline === -1 ? payload.byteLength : newline;
    const data = Buffer.from(payload.buffer, payload.byteOffset, end);
    try {
      const frame = JSON.parse(decoder.decode(data)) as VersionedEvent;
      const delta = newline === -1 ? undefined : (JSON.parse(decoder.decode(payload.subarray(newline + 1))) as AppendDelta);
      return isChange(frame) && (delta === undefined || isDelta(delta, frame)) ? new ChangeMessage(frame, data, delta) : null;
    } catch {
      return null;
    }
  }
}

function isChange(frame: VersionedEvent): boolean {
  if (typeof frame !== 'object' || frame === null || !Number.isSafeInteger(frame.version) || frame.version < 1) return false;
  if (typeof frame.session_id !== 'string') return false;
  if (frame.type === ServerEvent.SessionUpdate) {
    return frame.session === null || (typeof frame.session === 'object' && frame.session.version === frame.version && Array.isArray(frame.session.interactions));
  }
  if (frame.type === ServerEvent.InteractionUpdate) {
    const interaction = frame.interaction;
    return typeof interaction === 'object' && interaction !== null && typeof interaction.id === 'string' && interaction.session_id === frame.session_id;
  }
  return false;
}

function isDelta(delta: AppendDelta, frame: VersionedEvent): boolean {
  return (
    frame.type === ServerEvent.InteractionUpdate &&
    typeof delta === 'object' &&
    delta !== null &&
    typeof delta.append === 'string' &&
    (delta.state === undefined || INTERACTION_STATES.includes(delta.state)) &&
    (delta.error === undefined || typeof delta.error === 'string')
  );
}
