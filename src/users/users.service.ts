import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { generateApiKey } from '../auth/api-key.js';
import { UsersRepository } from './users.repository.js';

export interface CreatedUser {
  user_id: string;
  api_key: string;
}

export const USER_NAME_MAX = 100;

@Injectable()
export class UsersService {
  constructor(private readonly users: UsersRepository) {}

  async create(name: string): Promise<CreatedUser> {
    const trimmed = validateUserName(name);
    const userId = randomUUID();
    const key = generateApiKey();
    await this.users.createWithKey(userId, trimmed, randomUUID(), key.prefix, key.hash);
    return { user_id: userId, api_key: key.key };
  }

  /** On an empty database, creates `admin` and returns its key; otherwise null. */
  async createFirstUser(): Promise<CreatedUser | null> {
    const userId = randomUUID();
    const key = generateApiKey();
    const created = await this.users.createIfNoUsers(userId, 'admin', randomUUID(), key.prefix, key.hash);
    return created ? { user_id: userId, api_key: key.key } : null;
  }
}

export function validateUserName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > USER_NAME_MAX) {
    throw new RangeError(`name must be 1 to ${USER_NAME_MAX} characters`);
  }
  return trimmed;
}
