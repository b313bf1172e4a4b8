import { describe, expect, it } from '@jest/globals';
import { useTestApp } from './helpers/app.js';

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
}

/** Every route of the application, as Express has it registered (what a client can call). */
function expressRoutes(app: { getHttpAdapter(): { getInstance(): { router: { stack: Layer[] } } } }): string[] {
  const routes: string[] = [];
  for (const layer of app.getHttpAdapter().getInstance().router.stack) {
    if (!layer.route) continue;
    const methods = Object.entries(layer.route.methods).filter(([method, on]) => on && method !== '_all');
    // Nest mounts middleware (request logging, say) as a route of every method: not an API route.
    if (methods.length > 2) continue;
    for (const path of [layer.route.path].flat()) {
      for (const [method] of methods) routes.push(`${method.toUpperCase()} ${path}`);
    }
  }
  return routes;
}

describe('OpenAPI document', () => {
  const fx = useTestApp('reader');

  it('is served at /api/docs.json and lists every route of the application, with its parameters', async () => {
    const response = await fetch(`${fx.app.baseUrl}/api/docs.json`);
    expect(response.status).toBe(200);
    const document = await response.json();
    expect(document.openapi).toMatch(/^3\./);
    const documented = new Set<string>();
    for (const [path, operations] of Object.entries(document.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(operations)) documented.add(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`);
    }
    // The document describes the API; its own pages (UI, JSON, YAML) are not part of it, nor
    // is the browser page's catch-all (the files of web/, present once the page is built).
    const routes = expressRoutes(fx.app.app as never).filter((route) => !/ \/api\/docs/.test(route) && route !== 'GET {*any}');
    expect(routes.length).toBeGreaterThanOrEqual(17);
    expect(routes.filter((route) => !documented.has(route))).toEqual([]);
    expect([...documented].filter((route) => !routes.includes(route))).toEqual([]);
  });

  it('describes bodies, answers and error statuses', async () => {
    const document = await (await fetch(`${fx.app.baseUrl}/api/docs.json`)).json();
    const patch = document.paths['/api/v1/sessions/{id}/interactions/{iid}'].patch;
    expect(Object.keys(patch.responses).sort()).toEqual(['200', '400', '401', '403', '404', '409', '413', '429', '503']);
    expect(patch.requestBody.content['application/json'].schema.$ref).toMatch(/UpdateInteractionDto$/);
    expect(patch.responses['429'].headers['Retry-After']).toBeDefined();
    expect(document.components.schemas.UpdateInteractionDto.properties).toHaveProperty('append');
    expect(document.components.schemas.OffsetConflictDto.properties).toHaveProperty('offset');
    expect(document.components.schemas.CreateUserDto.required).toEqual(['name']);
    expect(Object.keys(document.paths['/api/v1/users'].post.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '403', '429']));
    expect(Object.keys(document.paths['/api/v1/keys/{id}'].delete.responses)).toEqual(expect.arrayContaining(['204', '401', '403', '404']));
    expect(document.components.securitySchemes).toHaveProperty('bearer');
  });

  it('serves the UI at /api/docs', async () => {
    const response = await fetch(`${fx.app.baseUrl}/api/docs`);
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/swagger-ui/);
  });
});
