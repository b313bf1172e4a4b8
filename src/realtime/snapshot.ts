import { sessionGoneFrame, sessionStateFrame } from '../events/session-events.js';
import type { Session } from '../protocol/protocol.js';

/**
 * What a `since=V` snapshot holds, the server's one merge rule: every session field, and of
 * the interactions only those whose `version` > V, in creation order. An interaction's
 * `version` is the session version of its last change, so exactly these changed after V;
 * the client replaces the ones it knows by id and adds the new ones after its own, which
 * keeps creation order because an interaction created after V comes after every one the
 * client held at V. Null when V is beyond the session's version: the client holds a state
 * this database never had, and gets the full state instead.
 */
export function changedSince(session: Session, since: number): Session | null {
  if (since > session.version) return null;
  return { ...session, interactions: session.interactions.filter((interaction) => interaction.version > since) };
}

/** Distinct `since` frames kept per snapshot; a storm of reconnects has few distinct values. */
const SINCE_FRAMES_MAX = 32;
const FULL = 0;

/**
 * A session's committed state at one version, or its absence, as a read returned it or as
 * the session's own events advanced it. Immutable: each version is a new Snapshot, so every
 * socket served this version gets the same bytes, each distinct frame (full, or per `since`)
 * serialized once, when first asked for.
 */
export class Snapshot {
  private readonly frames = new Map<number, Buffer>();

  constructor(
    readonly sessionId: string,
    /** Null: missing, deleted, or not the reader's. */
    readonly session: Session | null,
  ) {}

  get exists(): boolean {
    return this.session !== null;
  }

  get version(): number {
    return this.session?.version ?? 0;
  }

  /** The snapshot frame: full, or the delta from `since` (see changedSince). */
  frame(since?: number): Buffer {
    const session = this.session;
    const key = session && since !== undefined && since <= session.version ? since : FULL;
    let bytes = this.frames.get(key);
    if (bytes) return bytes;
    if (!session) bytes = toBytes(sessionGoneFrame(this.sessionId));
    else if (key === FULL) bytes = toBytes(sessionStateFrame(session, true));
    else bytes = toBytes(sessionStateFrame(changedSince(session, key)!, true, key));
    if (key === FULL || this.frames.size < SINCE_FRAMES_MAX) this.frames.set(key, bytes);
    return bytes;
  }

  /** Rough bytes held in memory, for the bound on kept states. */
  get size(): number {
    let size = 256;
    for (const interaction of this.session?.interactions ?? []) {
      size += 256 + 2 * (interaction.prompt_message.length + interaction.response_message.length + interaction.error.length);
    }
    return size;
  }
}

/**
 * A kept frame gets memory of its own size: a small Buffer.from() would share (and pin) an
 * 8 KiB pool slab for as long as the session's state is kept.
 */
function toBytes(frame: unknown): Buffer {
  const json = JSON.stringify(frame);
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(json));
  bytes.write(json);
  return bytes;
}
