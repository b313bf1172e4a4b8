import { describe, expect, it } from '@jest/globals';
import { redactUrl } from './redact-url.js';

describe('redactUrl', () => {
  it('hides every access_token value, however the name is escaped', () => {
    expect(redactUrl('/api/v1/ws/user?session_id=s&access_token=sk_abc')).toBe('/api/v1/ws/user?session_id=s&access_token=[redacted]');
    expect(redactUrl('/x?access%5Ftoken=sk_abc&access_token=sk_def')).toBe('/x?access%5Ftoken=[redacted]&access_token=[redacted]');
    expect(redactUrl('/x?access_token')).toBe('/x?access_token=[redacted]');
  });

  it('leaves other URLs alone', () => {
    expect(redactUrl('/api/v1/sessions?limit=5')).toBe('/api/v1/sessions?limit=5');
    expect(redactUrl('/healthz')).toBe('/healthz');
    expect(redactUrl('/x?a=%E0%A4%A')).toBe('/x?a=%E0%A4%A');
  });
});
