import { MigrationExecutor, type DataSource } from 'typeorm';

/** Arbitrary constant naming this service's migration lock among advisory locks. */
const MIGRATION_LOCK = 7_310_914_201;

/**
 * Runs pending migrations. On a shared PostgreSQL it holds a session advisory lock so that
 * replicas starting together apply each migration once instead of racing; the embedded
 * database belongs to one process and has a single connection, so it needs no lock.
 */
export async function runMigrations(dataSource: DataSource, shared: boolean): Promise<void> {
  // The usual start (a restart, a new replica) finds every migration applied: one read
  // says so, without the lock and TypeORM's catalogue queries, and keeps start-up short.
  if (await allApplied(dataSource)) return;
  if (!shared) {
    await dataSource.runMigrations({ transaction: 'each' });
    return;
  }
  // The migrations run on the connection that holds the lock: with DATABASE_POOL_SIZE=1 a
  // second connection could never be had, and the start would wait for it forever.
  const runner = dataSource.createQueryRunner();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      const executor = new MigrationExecutor(dataSource, runner);
      executor.transaction = 'each';
      await executor.executePendingMigrations();
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    await runner.release();
  }
}

/** True when the migrations table lists every migration this build knows. */
async function allApplied(dataSource: DataSource): Promise<boolean> {
  const table = dataSource.options.migrationsTableName ?? 'migrations';
  const [{ present }] = (await dataSource.query('SELECT to_regclass($1) IS NOT NULL AS present', [table])) as { present: boolean }[];
  if (!present) return false;
  const applied = new Set(((await dataSource.query(`SELECT name FROM "${table}"`)) as { name: string }[]).map((row) => row.name));
  return dataSource.migrations.every((migration) => applied.has(migration.name ?? migration.constructor.name));
}
