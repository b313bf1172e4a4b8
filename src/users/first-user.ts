import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { UsersService } from './users.service.js';

/**
 * On the first start against an empty database, creates `admin` and prints its key once on
 * stdout: inside a block a newcomer cannot miss among the log lines, and on a line of its own
 * (`api_key: KEY`) for scripts.
 */
@Injectable()
export class FirstUser implements OnApplicationBootstrap {
  private readonly log = new Logger('FirstUser');

  constructor(
    private readonly users: UsersService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const created = await this.users.createFirstUser();
    if (!created) return;
    this.log.log({ user_id: created.user_id }, 'created the first user "admin"; its API key is printed on stdout, once');
    process.stdout.write(firstStartBanner(created.api_key, signInUrl(this.config)));
  }
}

/** Where a browser on this machine reaches the service's page. */
export function signInUrl(config: Pick<AppConfig, 'host' | 'port'>): string {
  const host = ['0.0.0.0', '::', ''].includes(config.host) ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host;
  return `http://${host}:${config.port}/`;
}

export function firstStartBanner(apiKey: string, url: string): string {
  const rule = '='.repeat(78);
  return [
    '',
    rule,
    '  First start: created the user "admin". Its API key is shown ONLY THIS ONCE;',
    '  keep it somewhere safe. Sign in with it at',
    `    ${url}`,
    '  or call the API with "Authorization: Bearer KEY".',
    rule,
    `api_key: ${apiKey}`,
    rule,
    '',
    '',
  ].join('\n');
}
