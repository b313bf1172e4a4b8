import { Global, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { resolveDataSourceOptions, withoutTimeouts } from './data-source-options.js';
import { EmbeddedDatabase } from './embedded-database.js';
import { runMigrations } from './migrate.js';
import { StatementCounter } from './statement-counter.js';

/** Closes the data source before the embedded database under it, whatever the hook order. */
@Injectable()
class DatabaseShutdown implements OnApplicationShutdown {
  constructor(
    private readonly dataSource: DataSource,
    private readonly embedded: EmbeddedDatabase,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy().catch(() => undefined);
    await this.embedded.close();
  }
}

@Global()
@Module({
  // Factories, not values: each application (tests build several in one process) owns its
  // embedded database and its statement count.
  providers: [
    { provide: StatementCounter, useFactory: () => new StatementCounter() },
    { provide: EmbeddedDatabase, useFactory: () => new EmbeddedDatabase() },
  ],
  exports: [StatementCounter, EmbeddedDatabase],
})
class DatabaseCoreModule {}

@Global()
@Module({
  imports: [
    DatabaseCoreModule,
    TypeOrmModule.forRootAsync({
      inject: [APP_CONFIG, EmbeddedDatabase, StatementCounter],
      // retryAttempts 0: start-up fails fast with the real error instead of retrying for half a minute.
      useFactory: async (config: AppConfig, embedded: EmbeddedDatabase, counter: StatementCounter) => ({
        ...(await resolveDataSourceOptions(config, embedded, counter)),
        retryAttempts: 0,
      }),
      dataSourceFactory: async (options?: DataSourceOptions) => {
        const shared = 'url' in options! && Boolean(options.url);
        if (!shared) {
          // The embedded database serves one connection: migrate on the service's own.
          const dataSource = await new DataSource(options!).initialize();
          await runMigrations(dataSource, false);
          return dataSource;
        }
        // Migrations on a data source of their own, without the statement bounds (see withoutTimeouts).
        const migrator = await new DataSource(withoutTimeouts(options!)).initialize();
        try {
          await runMigrations(migrator, true);
        } finally {
          await migrator.destroy();
        }
        return new DataSource(options!).initialize();
      },
    }),
  ],
  providers: [DatabaseShutdown],
  exports: [DatabaseCoreModule],
})
export class DatabaseModule {}

