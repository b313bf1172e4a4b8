import { Logger, type INestApplicationContext } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import type { Observable } from 'rxjs';

const log = new Logger('WebSocket');

function onClientError(error: Error & { code?: string }): void {
  log.warn(`client error: ${error.code ?? error.message}`);
}

/**
 * WsAdapter with the protocol's limits: frames over WS_MAX_PAYLOAD close the socket with
 * 1009 (the `ws` default would accept 100 MiB). Client frames are handled by
 * ClientConnection, which answers bad frames with an `error` frame; the adapter's own
 * `{event, data}` dispatch, which drops anything else silently, is switched off.
 */
export class SyncWsAdapter extends WsAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly maxPayload: number,
  ) {
    super(app);
  }

  override create(port: number, options: Record<string, unknown> & { path?: string } = {}) {
    return super.create(port, { ...options, maxPayload: this.maxPayload });
  }

  /** A client's protocol error (an oversized frame, say) is its problem: one warning line, no stack. */
  override bindErrorHandler(server: import('ws').WebSocketServer) {
    server.on('connection', (socket) => socket.on('error', onClientError));
    server.on('error', (error) => log.error({ err: error }, 'server error'));
    return server;
  }

  /** The gateway has no disconnect handler (ClientConnection listens for the close): no closure per socket for it. */
  override bindClientDisconnect(): void {}

  override bindMessageHandlers(_client: unknown, _handlers: unknown[], _transform: (data: unknown) => Observable<unknown>): void {}
}
