import { ConflictException } from '@nestjs/common';

/**
 * 409 for an `append` whose `offset` is not the current UTF-8 byte length of
 * `response_message`. The body carries that length as `offset`: a writer retrying an append
 * whose answer it never saw learns from it whether the first try committed.
 */
export class AppendConflictException extends ConflictException {
  constructor(readonly currentOffset: number) {
    super(`offset does not match: response_message is ${currentOffset} bytes long`);
  }

  body(): { statusCode: 409; error: 'Conflict'; message: string; offset: number } {
    return { statusCode: 409, error: 'Conflict', message: this.message, offset: this.currentOffset };
  }
}
