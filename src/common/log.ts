import type { LoggerService } from '@nestjs/common';
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Level, type Logger as Pino } from 'pino';

export type { Pino };

/**
 * The process's one logger: pino JSON lines, one format for the service, the CLI and
 * start-up errors. On a terminal the same records are rendered by pino-pretty (a dev
 * dependency, looked up only then, so a production install without it never needs it).
 * Writes are synchronous: a line logged just before `process.exit` is not lost, and it
 * stays in order with the lines written straight to stdout (the first-start key).
 */
export function createLog(level: string, fd: 1 | 2 = 1): Pino {
  const tty = fd === 1 ? process.stdout.isTTY : process.stderr.isTTY;
  // An unknown level is the config's to report (naming LOG_LEVEL); until then, info.
  const known = level === 'silent' || level in pino.levels.values;
  return pino({ level: known ? level : 'info', base: { pid: process.pid } }, (tty && prettyStream(fd)) || pino.destination({ fd, sync: true }));
}

function prettyStream(fd: 1 | 2): DestinationStream | undefined {
  try {
    const pretty = createRequire(import.meta.url)('pino-pretty') as (options: object) => DestinationStream;
    return pretty({ destination: fd, sync: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' });
  } catch {
    return undefined;
  }
}

const NEST_LEVELS: Record<string, Level> = { log: 'info', error: 'error', warn: 'warn', debug: 'debug', verbose: 'trace', fatal: 'fatal' };

/** Nest's start-up narration (one line per module and route): debug, so that info is the service's own story. */
const NEST_CHATTER = new Set(['NestFactory', 'InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'WebSocketsController', 'NestApplication']);

/**
 * Nest's Logger routed into pino: the framework's lines, the code base's `new Logger(…)`, the
 * CLI's and start-up errors all become pino records of the same logger. Nest passes
 * `(message, ...params, context)`; the code base also logs `(object, message)`.
 */
export class NestPinoLogger implements LoggerService {
  constructor(readonly pino: Pino) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('log', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('verbose', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(method: string, message: unknown, params: unknown[]): void {
    const rest = params.filter((param) => param !== undefined);
    // Nest's Logger appends its context as the last string argument.
    const context = rest.length > 0 && typeof rest.at(-1) === 'string' ? (rest.pop() as string) : undefined;
    const level = method === 'log' && context && NEST_CHATTER.has(context) ? 'debug' : NEST_LEVELS[method];
    const fields: Record<string, unknown> = context ? { context } : {};
    if (message instanceof Error) {
      this.pino[level]({ ...fields, err: message }, message.message);
    } else if (message !== null && typeof message === 'object') {
      this.pino[level]({ ...fields, ...(message as object) }, typeof rest[0] === 'string' ? rest[0] : '');
    } else {
      // Nest's error(message, stack, context) carries a stack trace as a string.
      if (typeof rest[0] === 'string' && rest[0].includes('\n    at ')) fields.stack = rest[0];
      this.pino[level](fields, String(message));
    }
  }
}
