// A Node test environment that also hands specs the JSDOM constructor. jsdom 29 pulls in ESM
// through `require`, which Jest's own module loader refuses on Node 20 while Node's accepts;
// an environment module is loaded by Node itself, so jsdom is loaded here and passed in.
// Use with a `@jest-environment ./web/src/client/testing/jsdom-environment.js` docblock.
import { TestEnvironment } from 'jest-environment-node';
import { JSDOM } from 'jsdom';

export default class JsdomConstructorEnvironment extends TestEnvironment {
  async setup() {
    await super.setup();
    this.global.JSDOM = JSDOM;
  }
}
