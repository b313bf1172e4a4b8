import { resolve } from 'node:path';
import { normalizeOrigin } from '../auth/origin-policy.js';

/** Every setting of the service, read and validated once at start (see .env.example). */
export interface AppConfig {
  port: number;
  host: string;
  /** `postgres://…`; undefined means the embedded database under `dataDir`. */
  databaseUrl: string | undefined;
  /** NATS server list; undefined means the in-process bus (single instance only). */
  natsServers: string[] | undefined;
  dataDir: string;
  databasePoolSize: number;
  /** Bound on each database wait: acquiring a connection, and each statement (server- and client-side). */
  databaseTimeoutMs: number;
  /**
   * The hot statements (snapshot read, insert, append) are named prepared statements on
   * PostgreSQL; false sends them unnamed, for a pooler in transaction mode that cannot keep a
   * connection's prepared statements (PgBouncer before 1.21, or max_prepared_statements = 0).
   */
  databasePreparedStatements: boolean;
  /** Open WebSocket connections one API key may hold in this process (0 = no cap). */
  wsMaxConnectionsPerKey: number;
  bodyLimit: number;
  /** Largest `response_message` of an interaction, in UTF-8 bytes; appends past it are refused. */
  responseMaxBytes: number;
  shutdownTimeoutMs: number;
  sessionLookupTimeoutMs: number;
  wsMaxPayload: number;
  wsPingIntervalMs: number;
  wsPongTimeoutMs: number;
  /** How long a connection waits for a missing version before it re-snapshots instead. */
  wsGapWaitMs: number;
  /** How long a session's channel (subscription and kept state) outlives its last socket; 0 = not at all. */
  channelLingerMs: number;
  /** At most this many lingering channels… */
  channelLingerMax: number;
  /** …whose kept states hold at most this many bytes together (the oldest go first). */
  channelLingerMaxBytes: number;
  /**
   * What one bus subscription covers: every session of an owner followed here (`owner`: a
   * cold session of a user already followed opens with no subscription round trip), or one
   * session (`session`: a process receives only the changes of sessions it follows, for
   * deployments where one user owns many busy sessions).
   */
  busSubscriptionScope: BusSubscriptionScope;
  /** How often live sessions' versions are compared with the database (0 disables). */
  versionCheckIntervalMs: number;
  /** How often followed sessions are checked for a change whose publisher died before publishing (0 disables). */
  fastVersionCheckMs: number;
  authCacheTtlMs: number;
  /**
   * Origins allowed to make cookie-authenticated requests, normalized (`scheme://host[:port]`,
   * lowercase); undefined means same-origin (the Origin's host equals the Host header).
   */
  allowedOrigins: string[] | undefined;
  /** REST requests per second per API key, and the burst above it (0 = no limit). */
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  /** Requests per second per client address that carry no valid key, and the burst. */
  rateLimitIpPerSecond: number;
  rateLimitIpBurst: number;
  /** When set, GET /metrics requires `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
  logLevel: string;
}

export class ConfigError extends Error {}

export const BUS_SUBSCRIPTION_SCOPES = ['owner', 'session'] as const;
export type BusSubscriptionScope = (typeof BUS_SUBSCRIPTION_SCOPES)[number];

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1024, kib: 1024, k: 1024, mb: 1024 ** 2, mib: 1024 ** 2, m: 1024 ** 2 };

function raw(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return Number(value);
}

function byteSize(env: Env, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  const match = /^(\d+)\s*([a-z]*)$/i.exec(value);
  const unit = match ? SIZE_UNITS[match[2].toLowerCase()] : undefined;
  if (!match || unit === undefined || Number(match[1]) * unit < 1) {
    throw new ConfigError(`${name} must be a positive size in bytes, optionally with kb or mb, got "${value}"`);
  }
  if (Number(match[1]) * unit > max) {
    throw new ConfigError(`${name} must be at most ${max} bytes, got "${value}"`);
  }
  return Number(match[1]) * unit;
}

/** PostgreSQL keeps a text value up to 1 GB; a cap above it could never be reached. */
const RESPONSE_MAX_BYTES_CEILING = 1024 ** 3 - 1;

function oneOf<T extends string>(env: Env, name: string, choices: readonly T[], fallback: T): T {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw new ConfigError(`${name} must be one of ${choices.join(', ')}, got "${value}"`);
  }
  return value as T;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const value = raw(env, name)?.toLowerCase();
  if (value === undefined) return fallback;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new ConfigError(`${name} must be true or false, got "${raw(env, name)}"`);
}

function url(env: Env, name: string, schemes: string[]): string | undefined {
  const value = raw(env, name);
  if (value === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(`${name} must be a URL (${schemes.join(' or ')}://…), got "${value}"`);
  }
  if (!schemes.includes(parsed.protocol.replace(/:$/, ''))) {
    throw new ConfigError(`${name} must start with ${schemes.map((s) => `${s}://`).join(' or ')}, got "${value}"`);
  }
  return value;
}

function natsServers(env: Env): string[] | undefined {
  const value = raw(env, 'NATS_URL');
  if (value === undefined) return undefined;
  return value.split(',').map((part, index) => {
    const one = url({ NATS_URL: part.trim() }, 'NATS_URL', ['nats', 'tls', 'ws', 'wss']);
    if (!one) throw new ConfigError(`NATS_URL has an empty entry at position ${index + 1}`);
    return one;
  });
}

function origins(env: Env): string[] | undefined {
  const value = raw(env, 'ALLOWED_ORIGINS');
  if (value === undefined) return undefined;
  return value.split(',').map((part, index) => {
    const origin = normalizeOrigin(part.trim());
    if (!origin) throw new ConfigError(`ALLOWED_ORIGINS entry ${index + 1} must be an origin like https://app.example.com[:port] (no path), got "${part.trim()}"`);
    return origin;
  });
}

function token(env: Env, name: string): string | undefined {
  const value = raw(env, name);
  if (value !== undefined && (value.length < 16 || /\s/.test(value))) {
    throw new ConfigError(`${name} must be at least 16 characters without spaces`);
  }
  return value;
}

export function loadConfig(env: Env = process.env): AppConfig {
  const logLevel = oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info');
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres', 'postgresql']);
  const nats = natsServers(env);
  const config: AppConfig = {
    port: integer(env, 'PORT', 8080, 0, 65535),
    host: raw(env, 'HOST') ?? '127.0.0.1',
    databaseUrl,
    natsServers: nats,
    dataDir: resolve(raw(env, 'DATA_DIR') ?? './data'),
    databasePoolSize: integer(env, 'DATABASE_POOL_SIZE', 10, 1, 1000),
    databaseTimeoutMs: integer(env, 'DATABASE_TIMEOUT_MS', 5000, 100, 600_000),
    databasePreparedStatements: bool(env, 'DATABASE_PREPARED_STATEMENTS', true),
    wsMaxConnectionsPerKey: integer(env, 'WS_MAX_CONNECTIONS_PER_KEY', 1000, 0, 10_000_000),
    bodyLimit: byteSize(env, 'BODY_LIMIT', 1024 * 1024),
    responseMaxBytes: byteSize(env, 'RESPONSE_MAX_BYTES', 1024 * 1024, RESPONSE_MAX_BYTES_CEILING),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 100, 600_000),
    sessionLookupTimeoutMs: integer(env, 'SESSION_LOOKUP_TIMEOUT_MS', 2000, 1, 600_000),
    wsMaxPayload: byteSize(env, 'WS_MAX_PAYLOAD', 64 * 1024),
    wsPingIntervalMs: integer(env, 'WS_PING_INTERVAL_MS', 25_000, 10, 3_600_000),
    wsPongTimeoutMs: integer(env, 'WS_PONG_TIMEOUT_MS', 10_000, 10, 3_600_000),
    wsGapWaitMs: integer(env, 'WS_GAP_WAIT_MS', 250, 0, 60_000),
    channelLingerMs: integer(env, 'CHANNEL_LINGER_MS', 30_000, 0, 3_600_000),
    channelLingerMax: integer(env, 'CHANNEL_LINGER_MAX', 10_000, 0, 1_000_000),
    channelLingerMaxBytes: byteSize(env, 'CHANNEL_LINGER_MAX_BYTES', 64 * 1024 * 1024),
    busSubscriptionScope: oneOf(env, 'BUS_SUBSCRIPTION_SCOPE', BUS_SUBSCRIPTION_SCOPES, 'owner'),
    versionCheckIntervalMs: integer(env, 'VERSION_CHECK_INTERVAL_MS', 30_000, 0, 3_600_000),
    // Only replicas can lose a change to a publisher's crash (see CrashWindowCheck).
    fastVersionCheckMs: integer(env, 'FAST_VERSION_CHECK_MS', nats ? 700 : 0, 0, 3_600_000),
    authCacheTtlMs: integer(env, 'AUTH_CACHE_TTL_MS', 30_000, 0, 3_600_000),
    allowedOrigins: origins(env),
    // High enough that one agent key streaming appends, the benchmark and the test suites
    // never meet it; low enough that a runaway client cannot monopolize the service.
    rateLimitPerSecond: integer(env, 'RATE_LIMIT_PER_SECOND', 10_000, 0, 10_000_000),
    rateLimitBurst: integer(env, 'RATE_LIMIT_BURST', 20_000, 1, 10_000_000),
    rateLimitIpPerSecond: integer(env, 'RATE_LIMIT_IP_PER_SECOND', 100, 0, 10_000_000),
    rateLimitIpBurst: integer(env, 'RATE_LIMIT_IP_BURST', 1000, 1, 10_000_000),
    metricsToken: token(env, 'METRICS_TOKEN'),
    logLevel,
  };
  return Object.freeze(config);
}

/** Injection token of the frozen AppConfig. */
export const APP_CONFIG = Symbol('APP_CONFIG');
