// Specs that build services without an application (units, mostly) would print their Nest
// log lines in Nest's own coloured format; test output stays quiet unless a test fails.
// TEST_LOG_LEVEL keeps them (the in-process applications honour it too).
if (!process.env.TEST_LOG_LEVEL && typeof window === 'undefined') {
  const { Logger } = await import('@nestjs/common');
  Logger.overrideLogger(false);
}
export {};
