import { Module } from '@nestjs/common';
import { SessionsModule } from '../sessions/sessions.module.js';
import { ConnectionService } from './connection.service.js';
import { CrashWindowCheck } from './crash-window-check.js';
import { SessionChannels } from './session-channels.js';
import { SessionGateway } from './session.gateway.js';
import { SnapshotReader } from './snapshot-reader.js';
import { VersionCheck } from './version-check.js';

@Module({
  imports: [SessionsModule],
  providers: [SessionGateway, ConnectionService, SessionChannels, SnapshotReader, VersionCheck, CrashWindowCheck],
  exports: [SessionChannels, VersionCheck],
})
export class RealtimeModule {}
