/**
 * The DataSource the TypeORM CLI uses (`npm run typeorm -- migration:show`), built from the
 * same options as the service: same env vars, same entities, same migrations.
 */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { createLog, NestPinoLogger } from './src/common/log.js';
import { loadConfig } from './src/config/app-config.js';
import { resolveDataSourceOptions } from './src/database/data-source-options.js';
import { EmbeddedDatabase } from './src/database/embedded-database.js';

// Its lines (`migration:show` among them) are pino records on stderr, as the CLI's are.
Logger.overrideLogger(new NestPinoLogger(createLog(process.env.LOG_LEVEL?.trim() || 'info', 2)));

export default new DataSource(await resolveDataSourceOptions(loadConfig(), new EmbeddedDatabase()));
