// Jest runs in ESM mode (NestJS 12 is ESM-only): NODE_OPTIONS=--experimental-vm-modules is set
// by the npm scripts. `jest.mock` does nothing here; use `jest.unstable_mockModule`.
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true, tsx: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, react: { runtime: 'automatic' } },
      target: 'es2022',
      keepClassNames: true,
    },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  },
];

const common = {
  extensionsToTreatAsEsm: ['.ts', '.tsx'],
  transform: { '^.+\\.tsx?$': swc },
  // Sources import with NodeNext `.js` suffixes; map them back to the `.ts` files.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testEnvironment: 'node',
  setupFilesAfterEnv: ['<rootDir>/test/setup/quiet-nest-logs.ts'],
};

export default {
  // e2e specs start databases, nats-server and service processes: generous bounds, never timings.
  // (A project-level testTimeout is ignored.)
  testTimeout: 60_000,
  // Inside the project's ignored node_modules/, not /tmp: a run leaves nothing on the machine.
  cacheDirectory: '<rootDir>/node_modules/.cache/jest',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/web/src/**/*.spec.ts?(x)'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'] },
  ],
};
