import { BadRequestException, type INestApplication, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import type { ValidationError } from 'class-validator';
import { AppModule } from './app.module.js';
import type { AppConfig } from './config/app-config.js';
import { keepServingOnAcceptErrors } from './common/accept-errors.js';
import { HttpErrorFilter } from './common/http-error.filter.js';
import { jsonBodyGuard } from './common/json-body-guard.js';
import { API_PREFIX } from './protocol/protocol.js';
import { SyncWsAdapter } from './realtime/sync-ws.adapter.js';

/** Builds the application exactly as it runs in production; tests call this too. */
export async function createApp(config: AppConfig): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), { bufferLogs: true, bodyParser: false, abortOnError: false });
  app.useLogger(app.get(Logger));
  app.flushLogs();
  app.useBodyParser('json', { limit: config.bodyLimit });
  app.use(jsonBodyGuard());
  app.setGlobalPrefix(API_PREFIX.slice(1), { exclude: ['healthz', 'readyz', 'metrics'] });
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      exceptionFactory: (errors) => new BadRequestException(flattenErrors(errors)),
    }),
  );
  app.useGlobalFilters(new HttpErrorFilter());
  app.useWebSocketAdapter(new SyncWsAdapter(app, config.wsMaxPayload));
  app.getHttpAdapter().getInstance().disable('x-powered-by');
  const log = app.get(Logger);
  keepServingOnAcceptErrors(app.getHttpServer(), (message) => log.warn(message, 'Http'));
  return app;
}

/** "field: why" for every failed rule, so a client knows which field to fix. */
function flattenErrors(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((error) => {
    const path = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => (message.startsWith(error.property) ? message.replace(error.property, path) : `${path}: ${message}`));
    return [...own, ...flattenErrors(error.children ?? [], path)];
  });
}
