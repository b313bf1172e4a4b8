import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { NestPinoLogger } from './log.js';

function capture(level = 'debug') {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { lines, logger: new NestPinoLogger(pino({ level }, stream)) };
}

describe('NestPinoLogger', () => {
  it('turns Nest calls into pino records with the context as a field', () => {
    const { lines, logger } = capture();
    logger.log('plain', undefined, 'Service');
    logger.warn({ err: 'boom', subject: 's' }, 'publish failed', 'NatsBus');
    logger.error('failed', 'Error: x\n    at here (file.js:1:1)', 'Http');
    expect(lines).toEqual([
      expect.objectContaining({ level: 30, context: 'Service', msg: 'plain' }),
      expect.objectContaining({ level: 40, context: 'NatsBus', err: 'boom', subject: 's', msg: 'publish failed' }),
      expect.objectContaining({ level: 50, context: 'Http', msg: 'failed', stack: 'Error: x\n    at here (file.js:1:1)' }),
    ]);
  });

  it('logs an Error with its message and serialized error', () => {
    const { lines, logger } = capture();
    logger.error(new Error('no database'), 'Start');
    expect(lines[0]).toMatchObject({ level: 50, context: 'Start', msg: 'no database', err: { message: 'no database', type: 'Error' } });
  });

  it("keeps Nest's start-up narration at debug, below the default level", () => {
    const { lines, logger } = capture('info');
    logger.log('AppModule dependencies initialized', 'InstanceLoader');
    logger.log('Mapped {/healthz, GET} route', 'RouterExplorer');
    logger.log('created the first user', 'FirstUser');
    expect(lines.map((line) => line.msg)).toEqual(['created the first user']);
  });
});
