import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { MemoryBus } from './memory-bus.js';
import { NatsBus } from './nats-bus.js';
import { SESSION_BUS, type SessionBus } from './session-bus.js';
import { SessionEventsPublisher } from './session-events.publisher.js';

@Injectable()
class BusShutdown implements OnApplicationShutdown {
  constructor(@Inject(SESSION_BUS) private readonly bus: SessionBus) {}

  async onApplicationShutdown(): Promise<void> {
    await this.bus.close();
  }
}

@Global()
@Module({
  providers: [
    {
      provide: SESSION_BUS,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): Promise<SessionBus> | SessionBus =>
        config.natsServers ? NatsBus.connect(config.natsServers, `session-sync:${process.pid}`) : new MemoryBus(),
    },
    SessionEventsPublisher,
    BusShutdown,
  ],
  exports: [SESSION_BUS, SessionEventsPublisher],
})
export class EventsModule {}
