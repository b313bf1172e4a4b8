import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { demoReply } from '../src/agent/responder.js';
import type { Api } from './helpers/api.js';
import { createPostgresDatabase, type TestDatabase } from './helpers/database.js';
import { eventually } from './helpers/ports.js';
import { ServiceProcess } from './helpers/service.js';

/**
 * The demo agent as a process (`npm run agent` runs this file) against the real service: it
 * answers a new prompt by streaming, keeps streaming through a SIGKILL restart of the
 * service, and the reply ends exactly once in the database.
 */

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const AGENT = `${ROOT}dist/agent/src/agent/demo-agent.js`;
const WORDS = 300;

describe('the demo agent', () => {
  let database: TestDatabase;
  let service: ServiceProcess;
  let agent: ChildProcess | undefined;
  const output: string[] = [];

  beforeAll(async () => {
    if (!existsSync(AGENT)) throw new Error(`${AGENT} is missing: run "npm run build" first`);
    database = await createPostgresDatabase();
    service = await ServiceProcess.start({ ...database.env, LOG_LEVEL: 'warn' });
  });
  afterAll(async () => {
    agent?.kill('SIGKILL');
    await service?.stop('SIGKILL');
    await database?.drop();
  });

  it('answers a new prompt by streaming, through a SIGKILL restart of the service', async () => {
    const api: Api = service.api();
    const session = await api.createSession('agent demo');
    const answered = await api.addInteraction(session.id, 'Answered before the agent started');
    await api.updateInteraction(session.id, answered.id, { response_message: 'by hand', state: 'complete' });

    agent = spawn(process.execPath, [AGENT, '--url', service.baseUrl, '--key', api.key, '--session', session.id, '--rate', '100', '--words', String(WORDS)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent.stdout!.on('data', (d: Buffer) => output.push(...d.toString().split('\n').filter(Boolean)));
    agent.stderr!.on('data', (d: Buffer) => output.push(...d.toString().split('\n').filter(Boolean)));
    await eventually(() => output.some((l) => l.includes('connection connected')), 'the agent connected', 30_000);

    const prompt = 'What happens when the service restarts?';
    const asked = await api.addInteraction(session.id, prompt);
    const expected = demoReply(prompt, WORDS).join('');
    // Killed once the reply has started and before it is done.
    await eventually(async () => (await api.getSession(session.id)).interactions[1].response_message.length > 200, 'the reply streaming', 30_000);
    expect(await service.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    service = await service.restart();

    const done = (await eventually(async () => {
      const i = (await api.getSession(session.id)).interactions[1];
      return i.state === 'complete' ? i : null;
    }, 'the reply complete', 60_000))!;
    expect(done.id).toBe(asked.id);
    expect(done.response_message === expected).toBe(true);
    expect(output.some((l) => l.includes('retrying'))).toBe(true);
    expect(output.filter((l) => /Z answering /.test(l))).toEqual([expect.stringContaining(asked.id)]);
    // The prompt answered by hand was left alone.
    expect((await api.getSession(session.id)).interactions[0]).toMatchObject({ response_message: 'by hand', state: 'complete' });

    agent.kill('SIGTERM');
    const exit = await new Promise((resolve) => agent!.once('exit', (code) => resolve(code)));
    expect(exit).toBe(0);
  }, 180_000);
});
