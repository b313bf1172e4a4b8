import { describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';
import { createPostgresDatabase } from './helpers/database.js';
import { TestApp } from './helpers/app.js';
import { isSnapshot } from './helpers/recording-client.js';
import { TestSocket } from './helpers/ws.js';

/**
 * On PostgreSQL the hot statements are named prepared statements, unless
 * DATABASE_PREPARED_STATEMENTS=false (a pooler in transaction mode, where the next statement
 * may run on a server connection that never prepared them). With a pool of one connection,
 * pg_prepared_statements read through the application's own pool shows what that connection holds.
 */
describe('prepared statements on PostgreSQL (DATABASE_PREPARED_STATEMENTS)', () => {
  async function preparedAfterTraffic(setting: string): Promise<string[]> {
    const database = await createPostgresDatabase();
    const app = await TestApp.start({ DATABASE_POOL_SIZE: '1', DATABASE_PREPARED_STATEMENTS: setting }, database);
    try {
      const user = await app.newUser('preparer');
      const session = await user.createSession('hot path');
      const interaction = await user.addInteraction(session.id, 'prompt');
      await user.updateInteraction(session.id, interaction.id, { append: 'streamed' });
      const socket = TestSocket.connect(app.wsBase, session.id, user.key);
      const first = await socket.next(isSnapshot);
      expect(first).toMatchObject({ version: 3 });
      socket.close();
      await socket.closed;
      const rows: { name: string }[] = await app.get(DataSource).query('SELECT name FROM pg_prepared_statements ORDER BY name');
      return rows.map((row) => row.name);
    } finally {
      await app.close();
      await database.drop();
    }
  }

  it('prepares the snapshot read, the insert and the append by default', async () => {
    expect(await preparedAfterTraffic('true')).toEqual(['append_to_interaction', 'insert_interaction', 'session_snapshot']);
  });

  it('prepares none of them with DATABASE_PREPARED_STATEMENTS=false', async () => {
    expect(await preparedAfterTraffic('false')).toEqual([]);
  });
});
