import { BadRequestException, type INestApplication, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { ValidationError } from 'class-validator';
import { AppModule } from './app.module.js';
import type { AppConfig } from './config/app-config.js';
import { keepServingOnAcceptErrors } from './common/accept-errors.js';
import { BodyProblemInterceptor } from './common/body-problem.interceptor.js';
import { deferBodyParserErrors, jsonBodyGuard } from './common/json-body-guard.js';
import { createLog, NestPinoLogger, type Pino } from './common/log.js';
import { HttpErrorFilter } from './common/http-error.filter.js';
import { serveOpenApi } from './common/openapi.js';
import { securityHeaders } from './common/security-headers.js';
import { API_PREFIX } from './protocol/protocol.js';
import { SyncWsAdapter } from './realtime/sync-ws.adapter.js';

/** Builds the application exactly as it runs in production; tests call this too. */
export async function createApp(config: AppConfig, log: Pino = createLog(config.logLevel)): Promise<INestApplication> {
  // Nest's own lines (start-up, and its errors) go through pino from the first one on;
  // nestjs-pino logs the requests, through the same pino.
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, log), { logger: new NestPinoLogger(log), bodyParser: false, abortOnError: false });
  app.useBodyParser('json', { limit: config.bodyLimit });
  app.use(deferBodyParserErrors());
  app.use(jsonBodyGuard());
  app.setGlobalPrefix(API_PREFIX.slice(1), { exclude: ['healthz', 'readyz', 'metrics'] });
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      exceptionFactory: (errors) => new BadRequestException(flattenErrors(errors)),
    }),
  );
  app.useGlobalInterceptors(new BodyProblemInterceptor());
  app.useGlobalFilters(new HttpErrorFilter());
  app.useWebSocketAdapter(new SyncWsAdapter(app, config.wsMaxPayload));
  app.getHttpAdapter().getInstance().disable('x-powered-by');
  app.use(securityHeaders());
  serveOpenApi(app);
  keepServingOnAcceptErrors(app.getHttpServer(), (message) => log.warn({ context: 'Http' }, message));
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
