/** Provided by `jsdom-environment.js` (see there why jsdom cannot be imported here). */
declare const JSDOM: new (html: string, options: { url: string }) => { window: Window & typeof globalThis };

/**
 * Installs a jsdom window as the global browser environment (the unit project runs in the
 * node environment). jsdom does no layout: only structure and render counts mean anything.
 */
export function installDom(): () => void {
  const dom = new JSDOM('<!doctype html><html><body></body></html>', { url: 'http://localhost/' });
  const g = globalThis as Record<string, unknown>;
  const keys = ['window', 'document', 'navigator', 'location', 'HTMLElement', 'Node', 'IS_REACT_ACT_ENVIRONMENT'];
  const saved = keys.map((k) => [k, Object.getOwnPropertyDescriptor(g, k)] as const);
  const set = (k: string, value: unknown) =>
    Object.defineProperty(g, k, { value, configurable: true, writable: true });
  set('window', dom.window);
  set('document', dom.window.document);
  set('navigator', dom.window.navigator);
  set('location', dom.window.location);
  set('HTMLElement', dom.window.HTMLElement);
  set('Node', dom.window.Node);
  set('IS_REACT_ACT_ENVIRONMENT', true);
  return () => {
    for (const [k, desc] of saved) {
      if (desc) Object.defineProperty(g, k, desc);
      else delete g[k];
    }
    dom.window.close();
  };
}
