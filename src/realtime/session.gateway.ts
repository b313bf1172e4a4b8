import { BeforeApplicationShutdown, Inject } from '@nestjs/common';
import { OnGatewayConnection, OnGatewayInit, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import type { IncomingMessage } from 'node:http';
import type { WebSocket, WebSocketServer as WsServer } from 'ws';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { WS_PATH } from '../protocol/protocol.js';
import { ConnectionService } from './connection.service.js';

/**
 * `GET /api/v1/ws/user?session_id=…`. The first frame of every healthy connection is the
 * session's snapshot; the session's bus subscription exists before that snapshot is read,
 * so the pub/sub listener attached after it misses nothing (see SessionFeed).
 */
@WebSocketGateway({ path: WS_PATH })
export class SessionGateway implements OnGatewayInit, OnGatewayConnection, BeforeApplicationShutdown {
  @WebSocketServer()
  private readonly server: WsServer;

  constructor(
    private readonly connections: ConnectionService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  afterInit(server: WsServer): void {
    this.connections.startLiveness(server);
  }

  handleConnection(socket: WebSocket, request: IncomingMessage): void {
    this.connections.accept(socket, request);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.connections.shutdown(this.server, Math.min(2000, this.config.shutdownTimeoutMs / 2));
  }
}
