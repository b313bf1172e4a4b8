import type { INestApplicationContext } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import type { Observable } from 'rxjs';

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

  override bindMessageHandlers(_client: unknown, _handlers: unknown[], _transform: (data: unknown) => Observable<unknown>): void {}
}
