import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import type { Session } from '../src/protocol/protocol.js';
import { Api } from './helpers/api.js';
import { launchChromium, requireBrowser, type TestBrowser } from './helpers/browser.js';
import { createPostgresDatabase, type TestDatabase } from './helpers/database.js';
import { ServiceProcess } from './helpers/service.js';

/**
 * The page in a real browser against the real service process: redundant snapshots must not
 * touch the DOM or the scroll position, and a restart of the service (SIGTERM or SIGKILL) must
 * end with the page showing what was committed meanwhile, without a reload, and without ever
 * showing an empty or older transcript on the way.
 *
 * One service process on a database of its own and the in-process bus, so that stopping that
 * one process cuts the page off completely. Changes "while it is down" go through a second
 * process on another port against the same database: with the in-process bus the first
 * process would never hear of them, so the page can only learn them from the snapshot it gets
 * on reconnecting.
 */

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const VIEWPORT = { width: 1280, height: 800 };
const INTERACTIONS = 60;
/** Generous bounds for things that happen by themselves (reconnect backoff included); never timings. */
const WAIT = { timeout: 30_000 };

/** The service's own env: in-process bus even when the suite runs with NATS_URL set. */
const serviceEnv = (database: TestDatabase) => ({ ...database.env, NATS_URL: '', LOG_LEVEL: 'warn' });

describe('the session page in Chromium', () => {
  let database: TestDatabase;
  let service: ServiceProcess;
  /** Writes while `service` is down. */
  let writer: ServiceProcess | undefined;
  let key: string;
  let api: Api;
  let browser: TestBrowser | undefined;
  let page: Page;
  let session: Session;

  beforeAll(async () => {
    requireBrowser();
    database = await createPostgresDatabase();
    service = await ServiceProcess.start(serviceEnv(database));
    key = service.apiKey!;
    expect(key).toBeTruthy();
    api = service.api(key);

    session = await api.createSession('Release planning');
    for (let n = 1; n <= INTERACTIONS; n++) {
      const interaction = await api.addInteraction(session.id, `Question ${n}: what is left for milestone ${n}?`);
      const response = Array.from({ length: 1 + (n % 4) }, (_, line) => `Line ${line + 1} of answer ${n}.`).join('\n');
      await api.updateInteraction(session.id, interaction.id, { response_message: response, state: 'complete' });
    }
    session = await api.getSession(session.id);

    browser = await launchChromium({ viewport: VIEWPORT });
    page = browser.page;
    // The page's client exposes nothing, and should not for a test's sake: recording the
    // sockets it opens lets the test ask the server for snapshots over the page's own
    // connection (as a `sync` after a gap would) and count the frames that arrive.
    await page.addInitScript(() => {
      const Native = window.WebSocket;
      const w = window as unknown as { __sockets: WebSocket[]; __frames: { type: string; version?: number; snapshot?: boolean }[] };
      w.__sockets = [];
      w.__frames = [];
      window.WebSocket = class extends Native {
        constructor(url: string | URL, protocols?: string | string[]) {
          super(url, protocols);
          w.__sockets.push(this);
          this.addEventListener('message', (ev) => {
            const { type, version, snapshot } = JSON.parse(ev.data as string);
            w.__frames.push({ type, version, snapshot });
          });
        }
      };
    });
  });

  afterAll(async () => {
    await browser?.close();
    await writer?.stop('SIGKILL');
    await service?.stop('SIGKILL');
    await database?.drop();
  });

  const lastId = () => session.interactions.at(-1)!.id;

  it('signs in and shows the whole transcript, connected', async () => {
    await page.goto(service.baseUrl + '/');
    await page.fill('input[name=api_key]', key);
    await page.click('[data-testid=sign-in] button[type=submit]');
    await page.waitForSelector(`[data-testid=session-list] [data-session-id="${session.id}"]`, WAIT);
    // A hash change, not a navigation: the page is loaded once for the whole spec.
    await page.evaluate((id) => {
      (window as unknown as { __loadedOnce: string }).__loadedOnce = 'yes';
      location.hash = `#/sessions/${id}`;
    }, session.id);
    await page.waitForSelector('[data-testid=connection-status][data-state=connected]', WAIT);
    expect(await page.locator('[data-interaction-id]').count()).toBe(INTERACTIONS);
    expect(await page.textContent('[data-testid=session-name]')).toBe('Release planning');
    expect(await page.getAttribute('[data-session-id][data-version]', 'data-version')).toBe(String(session.version));
  });

  it('keeps the DOM and the scroll position through three identical snapshots and a change to the last interaction', async () => {
    const scrollTop = await page.evaluate(async () => {
      const el = document.querySelector<HTMLElement>('[data-testid=transcript]')!;
      el.scrollTop = Math.floor((el.scrollHeight - el.clientHeight) / 2);
      // The scroll event (which tells the transcript it is no longer at the bottom) is
      // dispatched before the next frame; two frames later it has surely been handled.
      await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
      return el.scrollTop;
    });
    expect(scrollTop).toBeGreaterThan(0);

    await page.evaluate(() => {
      const w = window as unknown as Record<string, unknown>;
      const transcript = document.querySelector('[data-testid=transcript]')!;
      const nodes = Array.from(transcript.querySelectorAll<HTMLElement>('[data-interaction-id]'));
      w.__nodes = nodes;
      w.__renderCounts = nodes.map((n) => n.dataset.renderCount);
      const mutations: { type: string; in: string | null; interactionNodesAdded: number; interactionNodesRemoved: number }[] = [];
      w.__mutations = mutations;
      const interactionNodes = (list: NodeList) =>
        Array.from(list).filter((n) => n instanceof Element && (n.matches('[data-interaction-id]') || n.querySelector('[data-interaction-id]'))).length;
      new MutationObserver((records) => {
        for (const r of records) {
          const element = r.target instanceof Element ? r.target : r.target.parentElement;
          mutations.push({
            type: r.type,
            in: element?.closest<HTMLElement>('[data-interaction-id]')?.dataset.interactionId ?? null,
            interactionNodesAdded: interactionNodes(r.addedNodes),
            interactionNodesRemoved: interactionNodes(r.removedNodes),
          });
        }
      }).observe(transcript, { subtree: true, childList: true, attributes: true, characterData: true });
    });

    const snapshotsSoFar = () => page.evaluate(() => (window as unknown as { __frames: { type: string; snapshot?: boolean }[] }).__frames.filter((f) => f.type === 'session_update' && f.snapshot).length);
    const before = await snapshotsSoFar();
    for (let n = 1; n <= 3; n++) {
      // One at a time: overlapping syncs may be answered by one shared read.
      await page.evaluate(() => (window as unknown as { __sockets: WebSocket[] }).__sockets.at(-1)!.send('{"type":"sync"}'));
      await page.waitForFunction(
        (count) => (window as unknown as { __frames: { type: string; snapshot?: boolean }[] }).__frames.filter((f) => f.type === 'session_update' && f.snapshot).length === count,
        before + n,
        WAIT,
      );
    }
    const frames = await page.evaluate(() => (window as unknown as { __frames: { type: string; version?: number; snapshot?: boolean }[] }).__frames.slice(-3));
    expect(frames).toEqual(Array(3).fill({ type: 'session_update', version: session.version, snapshot: true }));
    // Let React commit anything it might have scheduled for them.
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    const mutations = await page.evaluate(() => (window as unknown as { __mutations: unknown[] }).__mutations);
    expect({ count: mutations.length, first: mutations.slice(0, 3) }).toEqual({ count: 0, first: [] });

    await api.updateInteraction(session.id, lastId(), { append: '\nEdited: moved to the next milestone.' });
    await page.waitForFunction(
      (id) => document.querySelector(`[data-interaction-id="${id}"] [data-testid=response]`)?.textContent?.endsWith('Edited: moved to the next milestone.'),
      lastId(),
      WAIT,
    );
    const after = await page.evaluate(() => {
      const w = window as unknown as { __nodes: HTMLElement[]; __renderCounts: string[]; __mutations: { in: string | null; interactionNodesAdded: number; interactionNodesRemoved: number }[] };
      const nodes = Array.from(document.querySelectorAll<HTMLElement>('[data-testid=transcript] [data-interaction-id]'));
      return {
        scrollTop: document.querySelector<HTMLElement>('[data-testid=transcript]')!.scrollTop,
        sameNodes: nodes.length === w.__nodes.length && nodes.every((n, i) => n === w.__nodes[i]),
        renderCountsChanged: nodes.flatMap((n, i) => (n.dataset.renderCount === w.__renderCounts[i] ? [] : [n.dataset.interactionId])),
        mutatedInteractions: [...new Set(w.__mutations.map((m) => m.in))],
        interactionNodesAddedOrRemoved: w.__mutations.reduce((sum, m) => sum + m.interactionNodesAdded + m.interactionNodesRemoved, 0),
      };
    });
    expect(after).toEqual({
      scrollTop,
      sameNodes: true,
      renderCountsChanged: [lastId()],
      mutatedInteractions: [lastId()],
      interactionNodesAddedOrRemoved: 0,
    });
  });

  it.each(['SIGTERM', 'SIGKILL'] as const)('after %s and a change committed while down, shows the change after reconnecting, without a reload', async (signal) => {
    writer ??= await ServiceProcess.start(serviceEnv(database));
    const marker = `Written while the service was down (${signal}).`;
    const before = await api.getSession(session.id);

    // Every state the page commits to the DOM (a MutationObserver callback runs before the
    // next paint), from now until the end.
    await page.evaluate(() => {
      const w = window as unknown as { __history: { count: number; last: string; version: number; status: string }[] };
      w.__history = [];
      const sample = () => {
        const interactions = document.querySelectorAll('[data-testid=transcript] [data-interaction-id]');
        const entry = {
          count: interactions.length,
          last: interactions[interactions.length - 1]?.querySelector('[data-testid=response]')?.textContent ?? '',
          version: Number(document.querySelector<HTMLElement>('[data-session-id][data-version]')?.dataset.version ?? -1),
          status: document.querySelector<HTMLElement>('[data-testid=connection-status]')?.dataset.state ?? 'none',
        };
        const prev = w.__history.at(-1);
        if (!prev || JSON.stringify(prev) !== JSON.stringify(entry)) w.__history.push(entry);
      };
      sample();
      new MutationObserver(sample).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    });

    const exit = await service.stop(signal);
    expect(exit).toEqual(signal === 'SIGTERM' ? { code: 0, signal: null } : { code: null, signal: 'SIGKILL' });
    await page.waitForSelector('[data-testid=connection-status]:not([data-state=connected])', WAIT);
    const changed = await new Api(writer.baseUrl, key).updateInteraction(session.id, lastId(), { append: `\n${marker}` });
    service = await service.restart();

    await page.waitForFunction(
      ([id, text]) => document.querySelector(`[data-interaction-id="${id}"] [data-testid=response]`)?.textContent === text,
      [lastId(), changed.response_message] as const,
      WAIT,
    );
    await page.waitForSelector('[data-testid=connection-status][data-state=connected]', WAIT);

    const history = await page.evaluate(() => (window as unknown as { __history: { count: number; last: string; version: number; status: string }[] }).__history);
    const loadedOnce = await page.evaluate(() => ({
      marker: (window as unknown as { __loadedOnce?: string }).__loadedOnce,
      navigations: performance.getEntriesByType('navigation').length,
    }));
    expect(loadedOnce).toEqual({ marker: 'yes', navigations: 1 });

    // The page really lost the connection, and came back to it.
    expect(history.some((h) => h.status !== 'connected')).toBe(true);
    expect(history.at(-1)).toEqual({ count: INTERACTIONS, last: changed.response_message, version: before.version + 1, status: 'connected' });
    // Never an empty or shorter transcript, never an older version, and once the change
    // showed it stayed shown.
    expect(history.filter((h) => h.count !== INTERACTIONS)).toEqual([]);
    expect(history.every((h, n) => h.version >= before.version && (n === 0 || h.version >= history[n - 1].version))).toBe(true);
    const lastTexts = [...new Set(history.map((h) => h.last))];
    expect(lastTexts).toEqual([before.interactions.at(-1)!.response_message, changed.response_message]);
  });

  it('takes the README screenshot of a live session', async () => {
    const demo = await api.createSession('Quarterly report');
    const steps: [string, Record<string, unknown>][] = [
      ['Summarise the Q3 numbers in three bullet points.', { response_message: '• Revenue up 12% on Q2\n• Churn down to 2.1%\n• Two new regions live', state: 'complete' }],
      ['Draft the opening paragraph for the board.', { response_message: 'Q3 was our strongest quarter yet: growth held while costs fell, and both new regions', state: 'editing' }],
      ['And a one-line title?', {}],
    ];
    for (const [prompt, changes] of steps) {
      const interaction = await api.addInteraction(demo.id, prompt);
      if (Object.keys(changes).length) await api.updateInteraction(demo.id, interaction.id, changes);
    }
    await page.evaluate((id) => (location.hash = `#/sessions/${id}`), demo.id);
    await page.waitForSelector(`[data-session-id="${demo.id}"] [data-testid=connection-status][data-state=connected]`, WAIT);
    await page.waitForFunction(() => document.querySelectorAll('[data-interaction-id]').length === 3, undefined, WAIT);

    const png = await page.screenshot({ type: 'png' });
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([VIEWPORT.width, VIEWPORT.height]);
    // Written only on request (UPDATE_SCREENSHOT=1), so that an ordinary run leaves the
    // working tree, and the machine, as it found them.
    if (process.env.UPDATE_SCREENSHOT) writeFileSync(join(ROOT, 'docs', 'screenshot.png'), png);
  });
});
