import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { RateLimiter } from './rate-limiter.js';

/**
 * The REST rate limits of this process: per API key (RATE_LIMIT_PER_SECOND / _BURST), and
 * per client address for requests without a valid key (RATE_LIMIT_IP_…), which also slows
 * down anyone guessing keys. One instance, shared by every guarded controller.
 */
@Injectable()
export class RateLimits {
  readonly perKey: RateLimiter;
  readonly perAddress: RateLimiter;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.perKey = new RateLimiter(config.rateLimitPerSecond, config.rateLimitBurst);
    this.perAddress = new RateLimiter(config.rateLimitIpPerSecond, config.rateLimitIpBurst);
  }
}
