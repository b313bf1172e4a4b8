import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { UsersService } from './users.service.js';

/**
 * On the first start against an empty database, creates `admin` and prints its key once,
 * on a line of its own on stdout, so a newcomer can call the API at once.
 */
@Injectable()
export class FirstUser implements OnApplicationBootstrap {
  private readonly log = new Logger('FirstUser');

  constructor(private readonly users: UsersService) {}

  async onApplicationBootstrap(): Promise<void> {
    const created = await this.users.createFirstUser();
    if (!created) return;
    this.log.log({ user_id: created.user_id }, 'created the first user "admin"; its API key follows on stdout');
    process.stdout.write(`api_key: ${created.api_key}\n`);
  }
}
