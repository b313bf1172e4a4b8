import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { WS_PATH } from '../protocol/protocol.js';

export const DOCS_PATH = 'api/docs';
export const DOCS_JSON_PATH = 'api/docs.json';

/** The OpenAPI document, generated from the controllers and DTOs. */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('session-sync')
    .setDescription(
      [
        'Live session state: REST writes, WebSocket reads.',
        `The WebSocket endpoint \`GET ${WS_PATH}?session_id=ID[&since=V][&delta=append]\` is not REST and is described in docs/PROTOCOL.md.`,
        'Authenticate with `Authorization: Bearer KEY` (or the `access_token` query parameter or cookie; a cookie request carrying an `Origin` must come from an allowed origin).',
        'Every error is JSON `{statusCode, error, message}`.',
      ].join('\n\n'),
    )
    .setVersion('1.1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API key, `sk_…`' })
    .addCookieAuth('access_token')
    .build();
  return SwaggerModule.createDocument(app, config);
}

/** Serves the UI at /api/docs and the document at /api/docs.json; the document is built on first request. */
export function serveOpenApi(app: INestApplication): void {
  let document: OpenAPIObject | undefined;
  SwaggerModule.setup(DOCS_PATH, app, () => (document ??= buildOpenApiDocument(app)), {
    jsonDocumentUrl: DOCS_JSON_PATH,
    yamlDocumentUrl: 'api/docs.yaml',
    customSiteTitle: 'session-sync API',
  });
}
