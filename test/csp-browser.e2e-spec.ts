import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import { launchChromium, requireBrowser, type TestBrowser } from './helpers/browser.js';
import { createPostgresDatabase, type TestDatabase } from './helpers/database.js';
import { ServiceProcess } from './helpers/service.js';

const WAIT = { timeout: 30_000 };

/**
 * The security headers must not break what the service serves to a browser: the page (which
 * signs in with the `access_token` cookie and opens its WebSocket with it, same-origin) and the
 * Swagger UI run in Chromium without a single Content-Security-Policy violation.
 */
describe('Content-Security-Policy in Chromium', () => {
  let database: TestDatabase;
  let service: ServiceProcess;
  let browser: TestBrowser | undefined;
  let page: Page;
  const violations: string[] = [];

  beforeAll(async () => {
    requireBrowser();
    database = await createPostgresDatabase();
    service = await ServiceProcess.start({ ...database.env, NATS_URL: '', LOG_LEVEL: 'warn' });
    browser = await launchChromium();
    page = browser.page;
    page.on('console', (message) => {
      if (/Content.Security.Policy|Refused to/i.test(message.text())) violations.push(message.text());
    });
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (event) => console.error(`Content-Security-Policy violation: ${event.violatedDirective} ${event.blockedURI}`));
    });
  });

  afterAll(async () => {
    await browser?.close();
    await service?.stop('SIGKILL');
    await database?.drop();
  });

  it('runs the page: sign in, list, follow a session over the cookie-authenticated WebSocket', async () => {
    const api = service.api();
    const session = await api.createSession('Under policy');
    await api.addInteraction(session.id, 'Does the policy let the page work?');
    const response = await page.goto(service.baseUrl + '/');
    expect(response?.headers()['content-security-policy']).toMatch(/script-src 'self'/);
    await page.fill('input[name=api_key]', service.apiKey!);
    await page.click('[data-testid=sign-in] button[type=submit]');
    await page.waitForSelector(`[data-testid=session-list] [data-session-id="${session.id}"]`, WAIT);
    await page.evaluate((id) => (location.hash = `#/sessions/${id}`), session.id);
    await page.waitForSelector('[data-testid=connection-status][data-state=connected]', WAIT);
    expect(await page.locator('[data-interaction-id]').count()).toBe(1);
    expect(violations).toEqual([]);
  });

  it('runs the Swagger UI at /api/docs', async () => {
    await page.goto(service.baseUrl + '/api/docs');
    await page.waitForSelector('.swagger-ui .opblock', WAIT);
    expect(await page.locator('.swagger-ui .opblock').count()).toBeGreaterThanOrEqual(17);
    expect(violations).toEqual([]);
  });
});
