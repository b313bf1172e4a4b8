import { describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import type { Server } from 'node:net';
import { keepServingOnAcceptErrors } from './accept-errors.js';

const acceptError = () => Object.assign(new Error('accept EMFILE'), { syscall: 'accept', code: 'EMFILE' });

describe('keepServingOnAcceptErrors', () => {
  it('logs accept errors once listening, at most once a second, without throwing', () => {
    const server = new EventEmitter();
    const warnings: string[] = [];
    keepServingOnAcceptErrors(server as unknown as Server, (message) => warnings.push(message));
    server.emit('listening');
    expect(() => server.emit('error', acceptError())).not.toThrow();
    server.emit('error', acceptError());
    expect(warnings).toEqual(['cannot accept connections (EMFILE): refusing new ones, serving the open ones']);
  });

  it('leaves other errors fatal, and errors before listening to whoever listens for them', () => {
    const server = new EventEmitter();
    keepServingOnAcceptErrors(server as unknown as Server, () => undefined);
    expect(server.listenerCount('error')).toBe(0);
    server.emit('listening');
    expect(() => server.emit('error', Object.assign(new Error('boom'), { syscall: 'write' }))).toThrow('boom');
  });
});
