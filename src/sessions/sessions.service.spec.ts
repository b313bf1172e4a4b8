import { describe, expect, it, jest } from '@jest/globals';
import { BadRequestException, ConflictException, NotFoundException, PayloadTooLargeException } from '@nestjs/common';
import type { SessionEventsPublisher } from '../events/session-events.publisher.js';
import { InteractionEntity } from './interaction.entity.js';
import type { AppendResult, SessionRepository } from './session.repository.js';
import { SessionsService } from './sessions.service.js';

const OWNER = '11111111-1111-4111-8111-111111111111';
const SESSION = '22222222-2222-4222-8222-222222222222';
const ID = '33333333-3333-4333-8333-333333333333';

function row(responseMessage: string, version: number): InteractionEntity {
  const at = new Date('2026-11-30T00:00:00.000Z');
  return Object.assign(new InteractionEntity(), { id: ID, sessionId: SESSION, promptMessage: 'p', responseMessage, state: 'editing', error: '', version, created: at, updated: at });
}

function setup(result: AppendResult, maxBytes = 1024) {
  const appendToInteraction = jest.fn(async (..._args: unknown[]) => result);
  const updateInteraction = jest.fn(async (..._args: unknown[]) => ({ version: 9, interaction: row('set', 9) }));
  const exists = jest.fn(async () => true);
  const interactionChanged = jest.fn();
  const repository = { appendToInteraction, updateInteraction, exists } as unknown as SessionRepository;
  const publisher = { interactionChanged } as unknown as SessionEventsPublisher;
  return { service: new SessionsService(repository, publisher, { responseMaxBytes: maxBytes }), appendToInteraction, updateInteraction, interactionChanged };
}

describe('SessionsService.updateInteraction', () => {
  it('publishes the append delta beside the interaction, with state and error only when the body held them', async () => {
    const { service, interactionChanged, appendToInteraction } = setup({ outcome: 'appended', version: 7, interaction: row('Hello', 7) });
    await service.updateInteraction(OWNER, SESSION, ID, { append: 'lo', offset: 3 });
    await service.updateInteraction(OWNER, SESSION, ID, { append: 'lo', state: 'complete' });
    await service.updateInteraction(OWNER, SESSION, ID, { append: 'lo', error: '' });
    expect(interactionChanged.mock.calls.map((call) => call[3])).toEqual([{ append: 'lo' }, { append: 'lo', state: 'complete' }, { append: 'lo', error: '' }]);
    expect(Object.keys(interactionChanged.mock.calls[0][3] as object)).toEqual(['append']);
    expect(interactionChanged.mock.calls[0].slice(0, 3)).toEqual([OWNER, 7, expect.objectContaining({ id: ID, response_message: 'Hello', updated: '2026-11-30T00:00:00.000Z', version: 7 })]);
    expect(appendToInteraction.mock.calls[0]).toEqual([SESSION, OWNER, ID, { append: 'lo', offset: 3, maxBytes: 1024, state: undefined, error: undefined }]);
  });

  it('publishes no delta for a change without append', async () => {
    const { service, interactionChanged } = setup({ outcome: 'missing' });
    await service.updateInteraction(OWNER, SESSION, ID, { response_message: 'set', state: 'complete' });
    expect(interactionChanged).toHaveBeenCalledTimes(1);
    expect(interactionChanged.mock.calls[0]).toHaveLength(3);
  });

  it('turns a refused append into 409 with the current offset, or 413, publishing nothing', async () => {
    const conflict = setup({ outcome: 'offset_mismatch', length: 12 });
    const error = await conflict.service.updateInteraction(OWNER, SESSION, ID, { append: 'x', offset: 3 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictException);
    expect((error as { body(): unknown }).body()).toEqual({ statusCode: 409, error: 'Conflict', message: expect.any(String), offset: 12 });
    const large = setup({ outcome: 'too_large', length: 1020 });
    await expect(large.service.updateInteraction(OWNER, SESSION, ID, { append: 'é😀' })).rejects.toThrow(/append would make response_message 1026 bytes \(from 1020\), over the limit of 1024 bytes/);
    expect(conflict.interactionChanged).not.toHaveBeenCalled();
    expect(large.interactionChanged).not.toHaveBeenCalled();
  });

  it('refuses a response_message over the cap in UTF-8 bytes before touching the database', async () => {
    const { service, updateInteraction } = setup({ outcome: 'missing' }, 8);
    await expect(service.updateInteraction(OWNER, SESSION, ID, { response_message: '😀😀é' })).rejects.toThrow(PayloadTooLargeException);
    expect(updateInteraction).not.toHaveBeenCalled();
    await service.updateInteraction(OWNER, SESSION, ID, { response_message: '😀😀' });
    expect(updateInteraction).toHaveBeenCalledTimes(1);
  });

  it('answers a missing interaction with 404 and never calls the database for malformed ids', async () => {
    const { service, appendToInteraction } = setup({ outcome: 'missing' });
    await expect(service.updateInteraction(OWNER, SESSION, ID, { append: 'x' })).rejects.toThrow(NotFoundException);
    await expect(service.updateInteraction(OWNER, 'nope', ID, { append: 'x' })).rejects.toThrow('session not found');
    expect(appendToInteraction).toHaveBeenCalledTimes(1);
  });

  it.each([[{ offset: 0 }], [{ response_message: 'x', offset: 0 }], [{ state: 'editing' as const, offset: 1 }]])('refuses offset without append: %j', async (body) => {
    const { service } = setup({ outcome: 'missing' });
    const error = await service.updateInteraction(OWNER, SESSION, ID, body).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestException);
    expect((error as BadRequestException).getResponse()).toMatchObject({ message: ['offset is only valid together with append'] });
  });
});
