/**
 * The DataSource the TypeORM CLI uses (`npm run typeorm -- migration:show`), built from the
 * same options as the service: same env vars, same entities, same migrations.
 */
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from './src/config/app-config.js';
import { resolveDataSourceOptions } from './src/database/data-source-options.js';
import { EmbeddedDatabase } from './src/database/embedded-database.js';

export default new DataSource(await resolveDataSourceOptions(loadConfig(), new EmbeddedDatabase()));
