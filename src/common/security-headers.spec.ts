import { describe, expect, it } from '@jest/globals';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { recordHeaders, securityHeaders } from './security-headers.js';

function run(middleware: (req: Request, res: Response, next: NextFunction) => void, url: string): Record<string, string> {
  const headers: Record<string, string> = { 'x-powered-by': 'Express' };
  const response = {
    setHeader: (name: string, value: unknown) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  let nexts = 0;
  middleware({ url, path: url.split('?')[0] } as Request, response as unknown as Response, () => void nexts++);
  expect(nexts).toBe(1);
  return headers;
}

describe('securityHeaders', () => {
  it("sets exactly what helmet sets, computed once: the strict policy on the API, inline styles on the docs alone", () => {
    const api = run(securityHeaders(), '/api/v1/sessions/x/interactions/y');
    expect(api).toEqual(run(helmet({ contentSecurityPolicy: { directives: { 'default-src': ["'self'"], 'script-src': ["'self'"], 'style-src': ["'self'"], 'img-src': ["'self'", 'data:'], 'connect-src': ["'self'"], 'upgrade-insecure-requests': null } } }), '/'));
    expect(api['x-powered-by']).toBeUndefined();
    expect(api['content-security-policy']).toContain("style-src 'self';");
    expect(api['content-security-policy']).not.toContain('upgrade-insecure-requests');
    expect(api['x-content-type-options']).toBe('nosniff');
    const docs = run(securityHeaders(), '/api/docs?x=1');
    expect(docs['content-security-policy']).toContain("style-src 'self' 'unsafe-inline'");
    expect({ ...docs, 'content-security-policy': '' }).toEqual({ ...api, 'content-security-policy': '' });
  });

  it('refuses, at start-up, a middleware whose headers depend on the request', () => {
    expect(() => recordHeaders((req, res, next) => (res.setHeader('X-Path', req.path), next()))).toThrow(/depend on the request/);
    expect(() => recordHeaders(() => undefined)).toThrow(/did not finish/);
  });
});
