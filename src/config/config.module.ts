import { DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigModule as NestConfigModule } from '@nestjs/config';
import { APP_CONFIG, AppConfig } from './app-config.js';

/**
 * The configuration, validated once by `loadConfig` before the application is built (a bad
 * variable stops the start with a message naming it). It is offered two ways: the typed,
 * frozen AppConfig under APP_CONFIG, and @nestjs/config's `ConfigService<AppConfig, true>`.
 * The environment is not read here: main.ts reads it, and tests pass a config of their own,
 * so two applications in one process never share (or write to) `process.env`.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ConfigModule,
      imports: [
        NestConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, validatePredefined: false, skipProcessEnv: true, load: [() => ({ ...config })] }),
      ],
      providers: [{ provide: APP_CONFIG, useValue: config }],
      exports: [APP_CONFIG],
    };
  }
}
