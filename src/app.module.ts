import { DynamicModule, Module, RequestMethod } from '@nestjs/common';
import { ServeStaticModule } from '@nestjs/serve-static';
import { LoggerModule } from 'nestjs-pino';
import type { AppConfig } from './config/app-config.js';
import type { Pino } from './common/log.js';
import { ConfigModule } from './config/config.module.js';
import { AuthModule } from './auth/auth.module.js';
import { Metrics } from './common/metrics.js';
import { MetricsController } from './common/metrics.controller.js';
import { redactUrl } from './common/redact-url.js';
import { webRoot } from './common/web-root.js';
import { DatabaseModule } from './database/database.module.js';
import { EventsModule } from './events/events.module.js';
import { HealthController } from './health/health.controller.js';
import { RealtimeModule } from './realtime/realtime.module.js';
import { SessionsModule } from './sessions/sessions.module.js';
import { UsersModule } from './users/users.module.js';
import { FirstUser } from './users/first-user.js';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, log: Pino): DynamicModule {
    const web = webRoot();
    return {
      module: AppModule,
      global: true,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot({
          // The streaming write path (PATCH of an interaction: thousands a second) skips the
          // per-request logger when its lines could not be written anyway (level above debug):
          // building it cost about a sixth of an append's CPU. Its unhandled errors are still
          // logged by HttpErrorFilter.
          exclude: ['debug', 'trace'].includes(config.logLevel) ? [] : [{ path: 'sessions/:id/interactions/:iid', method: RequestMethod.PATCH }],
          pinoHttp: {
            // The process's one logger (src/common/log.ts), so requests log in the same format.
            logger: log,
            // Requests are logged at debug: at info the log would be one line per API call.
            // A 503 from /readyz is an answer, not a failure.
            customLogLevel: (req, res, err) => ((err || res.statusCode >= 500) && !req.url?.startsWith('/readyz') ? 'error' : 'debug'),
            // Keys never reach the log: no headers are serialized (Authorization, Cookie), the
            // `access_token` query parameter is masked, and redact catches any later addition.
            redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'], censor: '[redacted]' },
            serializers: {
              req: (req: { method: string; url: string }) => ({ method: req.method, url: redactUrl(req.url) }),
              res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
            },
          },
        }),
        DatabaseModule,
        EventsModule,
        UsersModule,
        AuthModule,
        SessionsModule,
        RealtimeModule,
        ...(web ? [ServeStaticModule.forRoot({ rootPath: web, exclude: ['/api/{*path}'] })] : []),
      ],
      controllers: [HealthController, MetricsController],
      providers: [Metrics, FirstUser],
      exports: [Metrics],
    };
  }
}
