export { SessionClient } from './session-client.js';
export {
  SessionClientState,
  type SessionClientListener,
  type SessionClientOptions,
  type SessionClientSnapshot,
  type StopReason,
  type Timers,
  type WakeSignals,
  type WebSocketConstructor,
  type WebSocketLike,
} from './types.js';
export {
  applyInteractionAppend,
  applyInteractionUpdate,
  applySessionUpdate,
  initialSessionState,
  mergeInteractions,
  type ApplyResult,
  type SessionState,
} from './reducer.js';
export { backoff, shouldReconnect } from './utils.js';
export type { Interaction, InteractionState, Session, SessionSummary } from '../../../src/protocol/protocol.js';
