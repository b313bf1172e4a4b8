import { afterAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { CloseCode } from '../src/protocol/protocol.js';
import { createEmbeddedDatabase } from './helpers/database.js';
import { isRunning, ServiceProcess } from './helpers/service.js';
import { TestSocket } from './helpers/ws.js';

/** A first start on the embedded database builds its files: slow on a busy machine. */
const START_MS = 120_000;

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

// What a process supervisor, a container runtime or Ctrl-C does: signal the `npm start`
// process, not the service under it.
describe('signals sent to `npm start` (real npm, real service, embedded database)', () => {
  const db = createEmbeddedDatabase();
  let key: string | undefined;
  const started: ServiceProcess[] = [];
  afterAll(async () => {
    for (const service of started) await service.stop('SIGKILL');
    await db.drop();
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s reaches the service: the client gets 1012, npm exits 0, no process of the tree is left',
    async (signal) => {
      // The second case starts on the first one's directory: it also shows the embedded
      // database was let go.
      const service = await ServiceProcess.spawn({ ...db.env, SHUTDOWN_TIMEOUT_MS: '10000' }, { npm: true });
      started.push(service);
      await service.waitReady(START_MS);
      key ??= service.apiKey;
      expect(key).toBeDefined();
      const api = service.api(key);
      const session = await api.createSession(`stopped by ${signal}`);
      const client = TestSocket.connect(service.wsBase, session.id, key!);
      await client.next((frame) => frame.type === 'session_update');

      const tree = service.tree();
      expect(tree[0]).toBe(service.child.pid);
      // npm, and under it the service itself (no shell in between to die of the signal).
      expect(tree.map(commandLine)).toEqual([expect.stringMatching(/npm/), expect.stringMatching(/node scripts\/start\.mjs$/)]);

      const exit = await service.stop(signal);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(await client.closed).toEqual(expect.objectContaining({ code: CloseCode.ServiceRestart }));
      expect(tree.filter(isRunning)).toEqual([]);
      expect(service.output.some((line) => line.includes(`${signal}: shutting down`))).toBe(true);
    },
    START_MS + 30_000,
  );
});
