import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiProperty, ApiResponse, getSchemaPath } from '@nestjs/swagger';

/** Every REST error: `{statusCode, error, message}` (see HttpErrorFilter). */
export class ErrorDto {
  @ApiProperty({ example: 404 })
  statusCode: number;

  @ApiProperty({ example: 'Not Found', description: 'The status text.' })
  error: string;

  @ApiProperty({
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    description: 'What went wrong; for a 400 the list names each field and why.',
  })
  message: string | string[];
}

/** The 409 of an `append` whose `offset` is not the current length: nothing changed. */
export class OffsetConflictDto extends ErrorDto {
  @ApiProperty({ description: 'The current UTF-8 byte length of `response_message`.', example: 1024 })
  offset: number;
}

const WHY: Record<number, string> = {
  400: 'A body or parameter failed validation; the message names the field and why.',
  401: 'Missing or invalid API key (revoked keys included).',
  403: 'Not allowed: an admin-only route, or a cookie-authenticated request from an origin that is not allowed (ALLOWED_ORIGINS).',
  404: 'Not found, or not the caller\'s (answered alike, so existence never leaks).',
  409: 'The `offset` given with `append` is not the current length of `response_message`; nothing changed.',
  413: 'The body is larger than BODY_LIMIT.',
  429: 'Rate limit of the key (or, without a valid key, of the client address) exceeded; see Retry-After.',
  503: 'The database is unavailable; see Retry-After.',
};

const RETRY_AFTER = { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } } };

/** Documents the error answers of a route (or of every route of a controller). */
export function ApiErrors(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(ErrorDto, OffsetConflictDto),
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: WHY[status] ?? 'Error.',
        schema: { $ref: getSchemaPath(status === 409 ? OffsetConflictDto : ErrorDto) },
        ...(status === 429 || status === 503 ? { headers: RETRY_AFTER } : {}),
      }),
    ),
  );
}
