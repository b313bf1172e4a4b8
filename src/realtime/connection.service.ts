import { Inject, Injectable, Logger } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { WebSocket, WebSocketServer } from 'ws';
import { AuthService } from '../auth/auth.service.js';
import { KeyRevocations } from '../auth/key-revocations.js';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { Metrics } from '../common/metrics.js';
import { withTimeout } from '../common/with-timeout.js';
import { CloseCode } from '../protocol/protocol.js';
import { ClientConnection, connectionOf, type ConnectionHost } from './client-connection.js';
import { parseConnectParams } from './connect-params.js';
import { ConnectionQuota } from './connection-quota.js';
import { SessionChannels } from './session-channels.js';
import { SessionFeed } from './session-feed.js';

/**
 * Admits WebSocket connections: authenticate, validate the query (`session_id`, `since`,
 * `delta`), join the session's channel (which subscribes BEFORE it reads the snapshot).
 * Nothing here may reject: Nest does not await `handleConnection`, and an unhandled
 * rejection would end the process. The open sockets are the `ws` server's own `clients`.
 */
@Injectable()
export class ConnectionService implements ConnectionHost {
  private readonly log = new Logger('Connections');
  private open = 0;
  private stopping = false;
  private livenessTimer?: NodeJS.Timeout;
  private readonly quota: ConnectionQuota;
  /** The quota slot each admitted connection holds, given back when it closes. */
  private readonly quotaKeys = new WeakMap<ClientConnection, string>();
  /** The gateway's server, whose `clients` are the open sockets (set by startLiveness at init). */
  private server?: WebSocketServer;

  constructor(
    private readonly auth: AuthService,
    readonly channels: SessionChannels,
    private readonly metrics: Metrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    revocations: KeyRevocations,
  ) {
    this.quota = new ConnectionQuota(config.wsMaxConnectionsPerKey);
    revocations.onRevoked((keyId) => {
      for (const socket of this.server?.clients ?? []) {
        const connection = connectionOf(socket);
        if (connection?.keyId === keyId) connection.close(CloseCode.Unauthorized, 'API key revoked');
      }
    });
  }

  accept(socket: WebSocket, request: IncomingMessage): void {
    const connection = new ClientConnection(socket, this);
    this.open++;
    this.metrics.wsConnections++;
    if (this.stopping) return connection.close(CloseCode.ServiceRestart, 'server restarting');
    this.admit(connection, request).catch((error: unknown) => {
      this.log.error({ err: error }, 'connection failed');
      connection.fail();
    });
  }

  connectionClosed(connection: ClientConnection): void {
    this.open--;
    this.metrics.wsConnections--;
    const quotaKey = this.quotaKeys.get(connection);
    if (quotaKey !== undefined) this.quota.release(quotaKey);
    if (connection.joined) connection.feed.close();
    this.channels.leave(connection);
  }

  snapshotFailed(connection: ClientConnection, error: unknown): void {
    this.log.warn({ err: error, session_id: connection.sessionId }, 'snapshot read failed');
  }

  private async admit(connection: ClientConnection, request: IncomingMessage): Promise<void> {
    // A cached key (every connect but the first of a key, within AUTH_CACHE_TTL_MS) is judged
    // at once: no promise, no timer.
    let verdict = this.auth.checkCached(request.headers, request.url);
    if (!verdict) {
      try {
        verdict = await withTimeout(this.auth.check(request.headers, request.url), this.config.sessionLookupTimeoutMs, 'key lookup');
      } catch (error) {
        this.log.warn({ err: error }, 'key lookup failed');
        return connection.unavailable();
      }
    }
    if (verdict.status === 'invalid') return connection.close(CloseCode.Unauthorized, 'missing or invalid API key');
    if (verdict.status === 'origin') return connection.close(CloseCode.OriginNotAllowed, 'origin not allowed');
    const owner = verdict.principal.userId;
    // Remembered so that revoking the key closes this socket (see the constructor).
    connection.keyId = verdict.principal.keyId;
    if (connection.isOpen) {
      if (!this.quota.take(verdict.principal.keyId)) return connection.overQuota(this.quota.limit);
      this.quotaKeys.set(connection, verdict.principal.keyId);
    }
    const params = parseConnectParams(request.url);
    if ('error' in params) return connection.close(CloseCode.BadSessionId, params.error);
    // No await between this check and join(): a socket that closed is never left in a channel.
    if (!connection.isOpen) return;
    const feed = new SessionFeed(connection, { gapWaitMs: this.config.wsGapWaitMs, append: params.deltaAppend, since: params.since });
    connection.attach(owner, this.channels.sessionIdOf(owner, params.sessionId), feed);
    await this.channels.join(connection);
  }

  /**
   * Pings every connection each WS_PING_INTERVAL_MS and terminates the ones that have not
   * answered WS_PONG_TIMEOUT_MS later: a peer that vanished without a close would otherwise
   * hold its socket (and its share of a subscription) forever.
   */
  startLiveness(server: WebSocketServer): void {
    this.server = server;
    this.livenessTimer = setInterval(() => {
      const pinged: ClientConnection[] = [];
      for (const socket of server.clients) {
        const connection = connectionOf(socket);
        if (!connection?.isOpen) continue;
        connection.awaitingPong = true;
        socket.ping();
        pinged.push(connection);
      }
      setTimeout(() => {
        for (const connection of pinged) if (connection.awaitingPong && connection.isOpen) connection.socket.terminate();
      }, this.config.wsPongTimeoutMs).unref();
    }, this.config.wsPingIntervalMs);
    this.livenessTimer.unref();
  }

  /** Closes every socket with 1012 so clients reconnect at once, instead of seeing a dropped TCP connection. */
  async shutdown(server: WebSocketServer | undefined, graceMs: number): Promise<void> {
    this.stopping = true;
    clearInterval(this.livenessTimer);
    for (const socket of server?.clients ?? []) connectionOf(socket)?.close(CloseCode.ServiceRestart, 'server restarting');
    const deadline = Date.now() + graceMs;
    while (this.open > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    for (const socket of server?.clients ?? []) socket.terminate();
  }
}
