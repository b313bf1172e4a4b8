/**
 * The session sync wire protocol, v1 with its v1.1 additions: the single definition of every event type, close
 * code and error code that crosses the WebSocket. The server and the browser client both
 * import this file; nothing else spells these values. It must stay free of Node-only
 * imports so that the browser build can bundle it.
 *
 * The full contract (endpoints, ordering, auth) is in docs/PROTOCOL.md.
 */

/** The WebSocket endpoint; the session to follow goes in `?session_id=`. */
export const WS_PATH = '/api/v1/ws/user';
/** Prefix of every REST route. */
export const API_PREFIX = '/api/v1';

/** Types of the frames the server sends. */
export const ServerEvent = {
  SessionUpdate: 'session_update',
  InteractionUpdate: 'interaction_update',
  /** v1.1, only on `delta=append` connections: the text one PATCH `append` added. */
  InteractionAppend: 'interaction_append',
  Error: 'error',
  Pong: 'pong',
} as const;
export type ServerEventType = (typeof ServerEvent)[keyof typeof ServerEvent];

/** Types of the frames a client may send. */
export const ClientEvent = {
  Ping: 'ping',
  Sync: 'sync',
} as const;
export type ClientEventType = (typeof ClientEvent)[keyof typeof ClientEvent];

/** Codes carried by `error` frames (and by `session_update.error`). */
export const ErrorCode = {
  BadRequest: 'bad_request',
  SessionUnavailable: 'session_unavailable',
  RateLimited: 'rate_limited',
  Internal: 'internal',
  SessionNotFound: 'session_not_found',
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** WebSocket close codes and what they mean to a client. */
export const CloseCode = {
  Normal: 1000,
  /** No close frame was received (network drop, killed process). Not sent by the server. */
  Abnormal: 1006,
  /** A client frame was larger than `WS_MAX_PAYLOAD`. */
  MessageTooBig: 1009,
  InternalError: 1011,
  /** The server is shutting down or restarting: reconnect. */
  ServiceRestart: 1012,
  /** The session could not be read just now: reconnect later. */
  TryAgainLater: 1013,
  /** `session_id` missing or not a canonical UUID. */
  BadSessionId: 4400,
  /** Missing or invalid API key. */
  Unauthorized: 4401,
  /** A cookie-authenticated upgrade from an origin that is not allowed (v1.1). */
  OriginNotAllowed: 4403,
  /** The session does not exist, was deleted, or is not the caller's. */
  SessionNotFound: 4404,
} as const;
export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

/** Close codes after which a client reconnects (with backoff). */
export const RECONNECT_CLOSE_CODES: readonly number[] = [
  CloseCode.Abnormal,
  CloseCode.InternalError,
  CloseCode.ServiceRestart,
  CloseCode.TryAgainLater,
];
/** Close codes after which a client must not reconnect: retrying cannot help. */
export const TERMINAL_CLOSE_CODES: readonly number[] = [
  CloseCode.BadSessionId,
  CloseCode.Unauthorized,
  CloseCode.OriginNotAllowed,
  CloseCode.SessionNotFound,
];

/** Query parameters of the WebSocket endpoint besides `session_id` (v1.1). */
export const WsParam = {
  SessionId: 'session_id',
  /** Last version the client applied: the first frame is a delta snapshot from it. */
  Since: 'since',
  /** `append`: appends arrive as `interaction_append` frames. */
  Delta: 'delta',
} as const;
/** The only value `delta` may take. */
export const DELTA_APPEND = 'append';

export const INTERACTION_STATES = ['waiting', 'editing', 'complete', 'error'] as const;
export type InteractionState = (typeof INTERACTION_STATES)[number];

/** Canonical lowercase hyphenated UUID; ids in any other form are malformed. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface Interaction {
  id: string;
  session_id: string;
  created: string;
  updated: string;
  prompt_message: string;
  response_message: string;
  state: InteractionState;
  /** `""` when there is no error. */
  error: string;
  /** v1.1: the session version of the last committed change to this interaction. */
  version: number;
}

export interface Session {
  id: string;
  name: string;
  owner: string;
  version: number;
  created: string;
  updated: string;
  /** Oldest first. Omitted in list responses. */
  interactions: Interaction[];
}

export type SessionSummary = Omit<Session, 'interactions'>;

export interface SessionList {
  sessions: SessionSummary[];
  next_cursor: string | null;
}

export interface ErrorBody {
  code: ErrorCodeValue;
  message: string;
}

/**
 * Full session state. `snapshot: true` for state sent on connect, on `sync`, or after a gap
 * the server noticed itself; `false` for a published change (PATCH, DELETE).
 * `session: null` means the session is gone (or never was the caller's): drop the state.
 */
export interface SessionUpdateEvent {
  type: typeof ServerEvent.SessionUpdate;
  session_id: string;
  owner: string | null;
  version: number;
  snapshot: boolean;
  session: Session | null;
  error?: ErrorBody;
  /**
   * v1.1, first frame of a `since=V` connect only: `session.interactions` lists just the
   * interactions whose `version` > V; merge them into the state held at V.
   */
  since?: number;
}

export interface InteractionUpdateEvent {
  type: typeof ServerEvent.InteractionUpdate;
  session_id: string;
  owner: string;
  interaction_id: string;
  version: number;
  interaction: Interaction;
}

/**
 * v1.1, `delta=append` connections only: a PATCH with `append` as a delta. Apply only when
 * `version` = last + 1 and the interaction is known; anything else but a duplicate is a gap.
 * `state` and `error` are present only when the PATCH body held them.
 */
export interface InteractionAppendEvent {
  type: typeof ServerEvent.InteractionAppend;
  session_id: string;
  owner: string;
  interaction_id: string;
  version: number;
  append: string;
  updated: string;
  state?: InteractionState;
  error?: string;
}

export interface ErrorEvent {
  type: typeof ServerEvent.Error;
  error: ErrorBody & { retryable: boolean };
}

export interface PongEvent {
  type: typeof ServerEvent.Pong;
}

export type ServerFrame = SessionUpdateEvent | InteractionUpdateEvent | InteractionAppendEvent | ErrorEvent | PongEvent;
/** Frames that carry a session `version` and are subject to ordering. */
export type VersionedEvent = SessionUpdateEvent | InteractionUpdateEvent | InteractionAppendEvent;

export type ClientFrame = { type: typeof ClientEvent.Ping } | { type: typeof ClientEvent.Sync };

/** Every bus subject of a session change starts with this. */
export const SESSION_SUBJECT_PREFIX = 'session-updates.';

/** Subject on which changes to one session are published: `session-updates.<owner>.<session_id>`. */
export function sessionSubject(owner: string, sessionId: string): string {
  return `${SESSION_SUBJECT_PREFIX}${owner}.${sessionId}`;
}

/** The subjects of every session of one owner (a wildcard for its last token). */
export function ownerSubjects(owner: string): string {
  return `${SESSION_SUBJECT_PREFIX}${owner}.*`;
}
