import type { ChangeMessage } from '../events/change-message.js';
import { Snapshot } from './snapshot.js';

/** Changes held beyond a gap before the state is given up as unknown. */
const PENDING_MAX = 256;

/**
 * The state after `change`, from the state just before it, or null when it cannot be derived
 * with certainty (the caller then forgets the state). It mirrors what the database did:
 * - a full session (rename) replaces everything;
 * - an interaction change replaces the interaction with its id, or, new, adds it last
 *   (interactions are created in version order, so the last is the newest); the session
 *   takes the change's version and, as its `updated`, the interaction's `updated`: one
 *   change has one timestamp (SessionRepository's version bump).
 */
export function applyChange(state: Snapshot, change: ChangeMessage): Snapshot | null {
  const session = state.session;
  if (!session) return null;
  if (change.kind === 'state') {
    const next = change.session!;
    return next.id === session.id && next.owner === session.owner ? new Snapshot(state.sessionId, next) : null;
  }
  const interaction = change.interaction;
  if (!interaction || change.version !== session.version + 1 || interaction.version !== change.version || typeof interaction.updated !== 'string') return null;
  const index = session.interactions.findIndex((known) => known.id === interaction.id);
  const interactions = session.interactions.slice();
  if (index === -1) interactions.push(interaction);
  else interactions[index] = interaction;
  return new Snapshot(state.sessionId, { ...session, version: change.version, updated: interaction.updated, interactions });
}

/**
 * A session's current state as this process knows it: taken from a read, then advanced by
 * the session's own events while their versions are contiguous, so a connect can be served
 * from memory, with no read, and still get the state a read would have returned (a change
 * whose event is still on its way reaches the new connection behind it, as after a read).
 *
 * Events may arrive out of version order (publishers commit in order, publish out of it);
 * one ahead of a missing version waits up to `gapWaitMs`, and while it waits the state is
 * not served. Any doubt forgets the state: a gap that does not fill, a change that does not
 * apply, the deletion, and whatever the owner reports through `drop` (a malformed message, a
 * bus reconnect, a version-check mismatch). The next connect reads the database again.
 */
export class KeptState {
  private state?: Snapshot;
  /** Received changes beyond `state` (or waiting for a read under way), oldest first once sorted. */
  private pending: ChangeMessage[] = [];
  private reads = 0;
  private gapTimer?: NodeJS.Timeout;

  constructor(
    private readonly gapWaitMs: number,
    private readonly onDrop: (reason: string) => void,
  ) {}

  /** The state, when known and nothing received is waiting for a missing version. */
  get current(): Snapshot | undefined {
    return this.pending.length === 0 ? this.state : undefined;
  }

  /** Version of the state held, known or not yet servable; 0 when none. */
  get version(): number {
    return this.state?.version ?? 0;
  }

  get size(): number {
    return this.state?.size ?? 0;
  }

  readStarted(): void {
    this.reads++;
  }

  readFailed(): void {
    this.reads--;
    if (this.reads === 0 && !this.state) this.pending = [];
  }

  /**
   * A read's result. It started after the subscription was confirmed, so every change it
   * lacks is received (or on its way): a newer result replaces the state, and the changes
   * received beyond it are applied on top.
   */
  readLanded(snapshot: Snapshot): void {
    this.reads--;
    if (!snapshot.exists) return this.drop('session not found');
    if (!this.state || snapshot.version > this.state.version) this.state = snapshot;
    this.advance();
  }

  push(change: ChangeMessage): void {
    if (change.kind === 'gone') return this.drop('session deleted');
    // Without a state or a read under way there is nothing to advance; a later read includes it.
    if (!this.state && this.reads === 0) return;
    if (this.state && change.version <= this.state.version) return;
    this.pending.push(change);
    if (this.pending.length > PENDING_MAX) return this.drop('too many changes beyond a gap');
    this.advance();
  }

  /** Forgets everything, as the channel closes: not a doubt, so not reported. */
  clear(): void {
    this.state = undefined;
    this.pending = [];
    this.clearGapTimer();
  }

  drop(reason: string): void {
    const had = this.state !== undefined;
    this.state = undefined;
    this.pending = [];
    this.clearGapTimer();
    if (had) this.onDrop(reason);
  }

  private advance(): void {
    const state = this.state;
    if (!state) return;
    this.pending.sort((a, b) => a.version - b.version);
    let next: Snapshot | null = state;
    let applied = 0;
    for (const change of this.pending) {
      if (change.version <= next.version) {
        applied++;
        continue;
      }
      // A full state supersedes whatever is missing before it.
      if (change.version !== next.version + 1 && change.kind !== 'state') break;
      next = applyChange(next, change);
      if (!next) return this.drop('a change did not apply to the kept state');
      applied++;
    }
    this.state = next;
    this.pending = applied === this.pending.length ? [] : this.pending.slice(applied);
    if (this.pending.length === 0) this.clearGapTimer();
    else this.armGapTimer();
  }

  private armGapTimer(): void {
    if (this.gapTimer) return;
    this.gapTimer = setTimeout(() => {
      this.gapTimer = undefined;
      if (this.pending.length > 0) this.drop('a version gap did not fill');
    }, this.gapWaitMs);
    this.gapTimer.unref();
  }

  private clearGapTimer(): void {
    clearTimeout(this.gapTimer);
    this.gapTimer = undefined;
  }
}
