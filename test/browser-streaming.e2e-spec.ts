import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import type { Session } from '../src/protocol/protocol.js';
import { SessionWriter, type ResponseStream } from '../src/writer/session-writer.js';
import type { Api } from './helpers/api.js';
import { launchChromium, requireBrowser, type TestBrowser } from './helpers/browser.js';
import { createPostgresDatabase, type TestDatabase } from './helpers/database.js';
import { sleep } from './helpers/ports.js';
import { ServiceProcess } from './helpers/service.js';

/**
 * A response streamed into the page in Chromium: 2,000 chunks written through the writer
 * library into one interaction, with the service killed (SIGKILL) and started again in the
 * middle. The page must end showing exactly the database's text, must never have touched the
 * other interactions' DOM, must follow the bottom while the reader is there, and must leave
 * the view alone once the reader has scrolled up.
 *
 * One service process on a PostgreSQL database of its own with the in-process bus, as in
 * browser-live-session: killing that one process cuts the page off completely.
 */

const VIEWPORT = { width: 1280, height: 800 };
const OTHERS = 30;
const CHUNKS = 2000;
const WAIT = { timeout: 60_000 };
const SLACK = 8;
/** Bound for the phases that stream hundreds of paced requests on a loaded machine; never a timing. */
const STREAM_TEST_TIMEOUT = 300_000;

/** A chunk with multi-byte characters and, now and then, a line break (so the item grows). */
const chunk = (n: number) => `${n} é✓👋${n % 12 === 11 ? '\n' : ' '}`;

interface Probe {
  /** The interaction nodes when the probe was installed, each marked with a property. */
  nodes: HTMLElement[];
  renderCounts: string[];
  /** Mutations anywhere in the transcript outside the streaming interaction. */
  outside: string[];
  /** Mutations inside it (its text changing). */
  inside: number;
  frames: { type: string; version?: number; snapshot?: boolean; since?: number; size: number; appended?: number }[];
  urls: string[];
}

type ProbeWindow = Window & { __probe: Probe };

describe('a streaming response in Chromium', () => {
  let database: TestDatabase;
  let service: ServiceProcess;
  let api: Api;
  let browser: TestBrowser | undefined;
  let page: Page;
  let session: Session;
  let reply: ResponseStream;
  let written = '';
  let next = 0;

  beforeAll(async () => {
    requireBrowser();
    database = await createPostgresDatabase();
    service = await ServiceProcess.start({ ...database.env, NATS_URL: '', LOG_LEVEL: 'warn' });
    api = service.api();

    session = await api.createSession('Streaming');
    for (let n = 1; n <= OTHERS; n++) {
      const i = await api.addInteraction(session.id, `Question ${n}`);
      await api.updateInteraction(session.id, i.id, { response_message: `Answer ${n}, line 1.\nAnswer ${n}, line 2.`, state: 'complete' });
    }
    const writer = new SessionWriter({ baseUrl: service.baseUrl, apiKey: api.key, minRetryDelayMs: 20, maxRetryDelayMs: 300 });
    reply = await writer.createInteraction(session.id, 'Tell me a long story, please.');

    browser = await launchChromium({ viewport: VIEWPORT });
    page = browser.page;
    // Records the URL of every socket the page opens and the frames it receives.
    await page.addInitScript(() => {
      const w = window as unknown as ProbeWindow;
      w.__probe = { nodes: [], renderCounts: [], outside: [], inside: 0, frames: [], urls: [] };
      const Native = window.WebSocket;
      window.WebSocket = class extends Native {
        constructor(url: string | URL, protocols?: string | string[]) {
          super(url, protocols);
          w.__probe.urls.push(String(url));
          this.addEventListener('message', (ev) => {
            const { type, version, snapshot, since, append } = JSON.parse(ev.data as string);
            w.__probe.frames.push({ type, version, snapshot, since, size: (ev.data as string).length, appended: append?.length });
          });
        }
      };
    });
  });

  afterAll(async () => {
    await browser?.close();
    await service?.stop('SIGKILL');
    await database?.drop();
  });

  /**
   * Writes chunks up to (not including) `until`. Paced, it waits for the writer to commit
   * every fifth chunk, so at least one request (and one frame on the page) per five chunks
   * whatever the machine's speed; unpaced (while the service is down) the writes queue up.
   */
  async function stream(until: number, { paced = true, during }: { paced?: boolean; during?: (n: number) => Promise<void> } = {}): Promise<void> {
    for (; next < until; next++) {
      reply.write(chunk(next));
      written += chunk(next);
      await during?.(next);
      if (paced && next % 5 === 4) await reply.flush();
      else await sleep(0);
    }
  }

  const shown = () => page.textContent(`[data-interaction-id="${reply.interactionId}"] [data-testid=response]`);
  /** Waits until the page shows exactly the text written so far (everything flushed). */
  async function caughtUp(): Promise<void> {
    await reply.flush();
    await page.waitForFunction(
      ([id, length]) => document.querySelector(`[data-interaction-id="${id}"] [data-testid=response]`)?.textContent?.length === length,
      [reply.interactionId, written.length] as const,
      WAIT,
    );
    expect(await shown()).toBe(written);
  }

  const geometry = () =>
    page.evaluate(() => {
      const el = document.querySelector<HTMLElement>('[data-testid=transcript]')!;
      return { scrollTop: el.scrollTop, scrollHeight: el.scrollHeight, clientHeight: el.clientHeight };
    });
  const fromBottom = (g: { scrollTop: number; scrollHeight: number; clientHeight: number }) => g.scrollHeight - g.scrollTop - g.clientHeight;

  it('opens the session at the bottom of its transcript', async () => {
    await page.goto(service.baseUrl + '/');
    await page.fill('input[name=api_key]', api.key);
    await page.click('[data-testid=sign-in] button[type=submit]');
    await page.waitForSelector(`[data-testid=session-list] [data-session-id="${session.id}"]`, WAIT);
    await page.evaluate((id) => (location.hash = `#/sessions/${id}`), session.id);
    await page.waitForSelector('[data-testid=connection-status][data-state=connected]', WAIT);
    expect(await page.locator('[data-interaction-id]').count()).toBe(OTHERS + 1);
    const g = await geometry();
    expect(g.scrollHeight).toBeGreaterThan(g.clientHeight);
    expect(fromBottom(g)).toBeLessThanOrEqual(SLACK);

    await page.evaluate((streaming) => {
      const probe = (window as unknown as ProbeWindow).__probe;
      const transcript = document.querySelector('[data-testid=transcript]')!;
      probe.nodes = Array.from(transcript.querySelectorAll<HTMLElement>('[data-interaction-id]'));
      probe.renderCounts = probe.nodes.map((n) => n.dataset.renderCount ?? '');
      for (const node of probe.nodes) (node as unknown as { __mark: string }).__mark = node.dataset.interactionId!;
      new MutationObserver((records) => {
        for (const r of records) {
          const element = r.target instanceof Element ? r.target : r.target.parentElement;
          const within = element?.closest<HTMLElement>('[data-interaction-id]')?.dataset.interactionId;
          if (within === streaming) probe.inside++;
          else probe.outside.push(`${r.type} in ${within ?? element?.tagName ?? '?'}`);
        }
      }).observe(transcript, { subtree: true, childList: true, attributes: true, characterData: true });
    }, reply.interactionId);
  });

  it('follows the bottom while the reader is there', async () => {
    const before = await geometry();
    await stream(700);
    await caughtUp();
    const after = await geometry();
    expect(after.scrollHeight).toBeGreaterThan(before.scrollHeight);
    expect(after.scrollTop).toBeGreaterThan(before.scrollTop);
    expect(fromBottom(after)).toBeLessThanOrEqual(SLACK);
  }, STREAM_TEST_TIMEOUT);

  it('keeps streaming through a SIGKILL restart of the service, resuming with since and append deltas', async () => {
    await stream(800);
    expect(await service.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    // Written while nothing listens: the writer keeps it, retrying.
    await stream(1000, { paced: false });
    await page.waitForSelector('[data-testid=connection-status]:not([data-state=connected])', WAIT);
    service = await service.restart();
    await stream(1300);
    await page.waitForSelector('[data-testid=connection-status][data-state=connected]', WAIT);
    await caughtUp();
    const g = await geometry();
    expect(fromBottom(g)).toBeLessThanOrEqual(SLACK);

    const { urls, frames } = await page.evaluate(() => {
      const { urls, frames } = (window as unknown as ProbeWindow).__probe;
      return { urls, frames };
    });
    // Every socket asked for append deltas; the ones after the first resumed from a version.
    expect(urls.length).toBeGreaterThanOrEqual(2);
    for (const url of urls) expect(new URL(url).searchParams.get('delta')).toBe('append');
    expect(new URL(urls[0]).searchParams.has('since')).toBe(false);
    for (const url of urls.slice(1)) expect(Number(new URL(url).searchParams.get('since'))).toBeGreaterThan(session.version);
    const resumed = frames.filter((f) => f.type === 'session_update' && f.since !== undefined);
    expect(resumed.length).toBeGreaterThanOrEqual(1);
    // Appends arrived as deltas, not as whole interactions: at least one per paced flush before the kill.
    expect(frames.filter((f) => f.type === 'interaction_append').length).toBeGreaterThanOrEqual(700 / 5);
    expect(frames.filter((f) => f.type === 'interaction_update')).toEqual([]);
    // Each costs its chunk plus a bounded envelope, not the whole text so far.
    const envelopes = frames.filter((f) => f.type === 'interaction_append').map((f) => f.size - f.appended!);
    expect(Math.max(...envelopes)).toBeLessThanOrEqual(300);
  }, STREAM_TEST_TIMEOUT);

  it('leaves the view where it is once the reader has scrolled up', async () => {
    const top = await page.evaluate(async () => {
      const el = document.querySelector<HTMLElement>('[data-testid=transcript]')!;
      el.scrollTop = Math.floor(el.scrollHeight / 3);
      // The scroll event is handled before the next frame; two frames later it surely was.
      await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
      return el.scrollTop;
    });
    expect(top).toBeGreaterThan(0);
    const before = await geometry();
    expect(fromBottom(before)).toBeGreaterThan(SLACK);

    await stream(CHUNKS);
    await reply.complete();
    await caughtUp();
    await page.waitForSelector(`[data-interaction-id="${reply.interactionId}"][data-state=complete]`, WAIT);
    const after = await geometry();
    expect(after.scrollHeight).toBeGreaterThan(before.scrollHeight);
    expect(after.scrollTop).toBe(top);
  }, STREAM_TEST_TIMEOUT);

  it('ends with exactly the database text, and never touched the other interactions', async () => {
    const stored = (await api.getSession(session.id)).interactions.find((i) => i.id === reply.interactionId)!;
    expect(stored.state).toBe('complete');
    expect(stored.response_message === written).toBe(true);
    expect(await shown()).toBe(stored.response_message);

    const result = await page.evaluate((streaming) => {
      const probe = (window as unknown as ProbeWindow).__probe;
      const nodes = Array.from(document.querySelectorAll<HTMLElement>('[data-testid=transcript] [data-interaction-id]'));
      return {
        sameNodes: nodes.length === probe.nodes.length && nodes.every((n, i) => n === probe.nodes[i]),
        marked: nodes.every((n) => (n as unknown as { __mark?: string }).__mark === n.dataset.interactionId),
        renderCountsChanged: nodes.flatMap((n, i) => (n.dataset.renderCount === probe.renderCounts[i] ? [] : [n.dataset.interactionId])),
        outside: probe.outside.slice(0, 5),
        outsideCount: probe.outside.length,
        insideSome: probe.inside > 0,
        streaming,
      };
    }, reply.interactionId);
    expect(result).toEqual({
      sameNodes: true,
      marked: true,
      renderCountsChanged: [reply.interactionId],
      outside: [],
      outsideCount: 0,
      insideSome: true,
      streaming: reply.interactionId,
    });
  });
});
