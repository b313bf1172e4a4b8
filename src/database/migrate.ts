import type { DataSource } from 'typeorm';

/** Arbitrary constant naming this service's migration lock among advisory locks. */
const MIGRATION_LOCK = 7_310_914_201;

/**
 * Runs pending migrations. On a shared PostgreSQL it holds a session advisory lock so that
 * replicas starting together apply each migration once instead of racing; the embedded
 * database belongs to one process and has a single connection, so it needs no lock.
 */
export async function runMigrations(dataSource: DataSource, shared: boolean): Promise<void> {
  if (!shared) {
    await dataSource.runMigrations({ transaction: 'each' });
    return;
  }
  const runner = dataSource.createQueryRunner();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await dataSource.runMigrations({ transaction: 'each' });
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    await runner.release();
  }
}
