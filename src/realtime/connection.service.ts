import { Inject, Injectable, Logger } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { WebSocket, WebSocketServer } from 'ws';
import { AuthService } from '../auth/auth.service.js';
import { apiKeyPrefix } from '../auth/api-key.js';
import { extractCredential, queryParam } from '../auth/credentials.js';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { Metrics } from '../common/metrics.js';
import { withTimeout } from '../common/with-timeout.js';
import { CloseCode, UUID_PATTERN } from '../protocol/protocol.js';
import { ClientConnection } from './client-connection.js';
import { ConnectionQuota } from './connection-quota.js';
import { SessionChannels } from './session-channels.js';
import { SessionFeed } from './session-feed.js';

/**
 * Admits WebSocket connections: authenticate, validate `session_id`, join the session's
 * channel (which subscribes BEFORE it reads the snapshot). Nothing here may reject: Nest
 * does not await `handleConnection`, and an unhandled rejection would end the process.
 */
@Injectable()
export class ConnectionService {
  private readonly log = new Logger('Connections');
  private readonly connections = new Set<ClientConnection>();
  private stopping = false;
  private livenessTimer?: NodeJS.Timeout;
  private readonly quota: ConnectionQuota;

  constructor(
    private readonly auth: AuthService,
    private readonly channels: SessionChannels,
    private readonly metrics: Metrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.quota = new ConnectionQuota(config.wsMaxConnectionsPerKey);
  }

  open(socket: WebSocket, request: IncomingMessage): void {
    const connection = new ClientConnection(socket, this.channels, (error) =>
      this.log.warn({ err: error, session_id: connection.sessionId }, 'snapshot read failed'),
    );
    this.connections.add(connection);
    this.metrics.wsConnections++;
    socket.on('message', (data, isBinary) => connection.onMessage(data, isBinary));
    socket.once('close', () => {
      this.connections.delete(connection);
      this.metrics.wsConnections--;
      if (connection.joined) connection.feed.close();
      this.channels.leave(connection);
    });
    if (this.stopping) return connection.close(CloseCode.ServiceRestart, 'server restarting');
    this.admit(connection, request).catch((error: unknown) => {
      this.log.error({ err: error }, 'connection failed');
      connection.fail();
    });
  }

  private async admit(connection: ClientConnection, request: IncomingMessage): Promise<void> {
    let owner: string | null;
    try {
      owner = await withTimeout(this.auth.authenticate(request.headers, request.url), this.config.sessionLookupTimeoutMs, 'key lookup');
    } catch (error) {
      this.log.warn({ err: error }, 'key lookup failed');
      return connection.unavailable();
    }
    if (!owner) return connection.close(CloseCode.Unauthorized, 'missing or invalid API key');
    const credential = extractCredential(request.headers, request.url);
    const quotaKey = credential.kind === 'key' ? apiKeyPrefix(credential.key) : null;
    if (quotaKey !== null && connection.isOpen) {
      if (!this.quota.take(quotaKey)) return connection.overQuota(this.quota.limit);
      connection.socket.once('close', () => this.quota.release(quotaKey));
    }
    const sessionId = queryParam(request.url, 'session_id');
    if (!sessionId || !UUID_PATTERN.test(sessionId)) {
      return connection.close(CloseCode.BadSessionId, 'session_id must be a lowercase hyphenated UUID');
    }
    // No await between this check and join(): a socket that closed is never left in a channel.
    if (!connection.isOpen) return;
    connection.attach(owner, sessionId, new SessionFeed(connection, this.config.wsGapWaitMs));
    await this.channels.join(connection);
  }

  /**
   * Pings every connection each WS_PING_INTERVAL_MS and terminates the ones that have not
   * answered WS_PONG_TIMEOUT_MS later: a peer that vanished without a close would otherwise
   * hold its socket (and its share of a subscription) forever.
   */
  startLiveness(): void {
    this.livenessTimer = setInterval(() => {
      const pingedAt = Date.now();
      const pinged = [...this.connections].filter((connection) => connection.isOpen);
      for (const connection of pinged) connection.socket.ping();
      setTimeout(() => {
        for (const connection of pinged) if (connection.lastPongAt < pingedAt && connection.isOpen) connection.socket.terminate();
      }, this.config.wsPongTimeoutMs).unref();
    }, this.config.wsPingIntervalMs);
    this.livenessTimer.unref();
  }

  /** Closes every socket with 1012 so clients reconnect at once, instead of seeing a dropped TCP connection. */
  async shutdown(server: WebSocketServer | undefined, graceMs: number): Promise<void> {
    this.stopping = true;
    clearInterval(this.livenessTimer);
    for (const connection of this.connections) connection.close(CloseCode.ServiceRestart, 'server restarting');
    const deadline = Date.now() + graceMs;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    for (const connection of this.connections) connection.socket.terminate();
    for (const socket of server?.clients ?? []) socket.terminate();
  }
}
