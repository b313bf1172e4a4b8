import { ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { generateApiKey } from '../auth/api-key.js';
import type { Principal } from '../auth/principal.js';
import { UUID_PATTERN } from '../protocol/protocol.js';
import { USER_NAME_MAX, mapKey, mapUser, type CreatedUserDto, type UserDto } from './user.dto.js';
import { UsersRepository } from './users.repository.js';

export interface CreatedUser {
  user_id: string;
  api_key: string;
}

export { USER_NAME_MAX };

@Injectable()
export class UsersService {
  constructor(private readonly users: UsersRepository) {}

  /** A user with its first key; the first user of the database becomes the admin. */
  async create(name: string): Promise<CreatedUserDto> {
    const trimmed = validateUserName(name);
    const userId = randomUUID();
    const key = generateApiKey();
    const created = await this.users.createWithKey(userId, trimmed, { id: randomUUID(), prefix: key.prefix, hash: key.hash });
    return { user_id: userId, api_key: key.key, user: mapUser(created.user), key: mapKey(created.key) };
  }

  /** On an empty database, creates `admin` (the admin) and returns its key; otherwise null. */
  async createFirstUser(): Promise<CreatedUser | null> {
    const userId = randomUUID();
    const key = generateApiKey();
    const created = await this.users.createIfNoUsers(userId, 'admin', { id: randomUUID(), prefix: key.prefix, hash: key.hash });
    return created ? { user_id: userId, api_key: key.key } : null;
  }

  async list(): Promise<UserDto[]> {
    return (await this.users.listUsers()).map(mapUser);
  }

  /** A user as `caller` may see it: the admin sees everyone, anyone else only themself. */
  async get(caller: Principal, id: string): Promise<UserDto> {
    assertSelfOrAdmin(caller, id);
    const user = UUID_PATTERN.test(id) ? await this.users.findUser(id) : null;
    if (!user) throw new NotFoundException('user not found');
    return mapUser(user);
  }
}

/** Admin routes answer 403 to everyone else; a user's own records are theirs to read. */
export function assertAdmin(caller: Principal): void {
  if (!caller.isAdmin) throw new ForbiddenException('only the admin may do this');
}

export function assertSelfOrAdmin(caller: Principal, userId: string): void {
  if (!caller.isAdmin && caller.userId !== userId) throw new ForbiddenException('only the admin may see other users');
}

export function validateUserName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > USER_NAME_MAX) {
    throw new RangeError(`name must be 1 to ${USER_NAME_MAX} characters`);
  }
  return trimmed;
}
