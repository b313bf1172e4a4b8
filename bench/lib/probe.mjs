// A WebSocket client in the runner's own process, for scenarios with few connections that
// need what a frame says rather than only when it came: it counts bytes per frame type and,
// with `parse`, keeps the session state by the protocol's client rules (v1.1 included).
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

const now = () => performance.timeOrigin + performance.now();

export class Probe {
  constructor(url, { parse = true } = {}) {
    this.url = url;
    this.parse = parse;
    this.bytes = 0;
    this.frames = 0;
    this.byType = {};
    this.first = null; // { bytes, json (when parse), at }
    this.version = 0;
    this.state = null; // the session as the client rules build it (parse only)
    this.gaps = 0;
    this.closeCode = null;
    this.lastRaw = null; // last interaction_update, unparsed (parse: false)
    this.t0 = now();
    this.ws = new WebSocket(url, { perMessageDeflate: false });
    this.ws.on('error', () => {});
    this.opened = new Promise((resolve) => {
      this.ws.on('message', (data) => {
        this.onFrame(data);
        if (this.first && !this.resolved) {
          this.resolved = true;
          resolve(this);
        }
      });
      this.ws.on('close', (code) => {
        this.closeCode = code;
        if (!this.resolved) {
          this.resolved = true;
          resolve(this);
        }
      });
    });
  }

  onFrame(data) {
    const at = now();
    const bytes = data.length;
    this.bytes += bytes;
    this.frames++;
    const s = data.toString('latin1', 0, Math.min(64, bytes));
    const ti = s.indexOf('"type":"');
    const type = ti >= 0 ? s.slice(ti + 8, s.indexOf('"', ti + 8)) : '?';
    const t = (this.byType[type] ??= { frames: 0, bytes: 0 });
    t.frames++;
    t.bytes += bytes;
    if (!this.parse) {
      const m = /"version":(\d+)/.exec(data.toString('latin1', 0, Math.min(bytes, 512)));
      if (m) this.version = Math.max(this.version, Number(m[1]));
      if (type === 'interaction_update') this.lastRaw = data;
      if (!this.first && type === 'session_update') this.first = { bytes, at };
      return;
    }
    const f = JSON.parse(data.toString('utf8'));
    if (!this.first && f.type === 'session_update') this.first = { bytes, at, json: f };
    this.apply(f);
  }

  apply(f) {
    if (f.type === 'session_update') {
      if (f.session === null) {
        this.state = null;
        return;
      }
      if (f.version <= this.version && this.state) return;
      if (typeof f.since === 'number' && this.state) this.state = mergeSince(this.state, f.session);
      else this.state = structuredClone(f.session);
      this.version = f.version;
    } else if (f.type === 'interaction_update' || f.type === 'interaction_append') {
      if (f.version <= this.version) return;
      const list = this.state?.interactions ?? [];
      const i = list.findIndex((x) => x.id === f.interaction_id);
      if (f.version !== this.version + 1 || (f.type === 'interaction_append' && i < 0)) {
        this.gaps++;
        this.ws.send('{"type":"sync"}');
        return;
      }
      if (f.type === 'interaction_update') {
        if (i >= 0) list[i] = f.interaction;
        else list.push(f.interaction);
      } else {
        const it = list[i];
        it.response_message += f.append;
        it.updated = f.updated;
        it.version = f.version;
        if ('state' in f) it.state = f.state;
        if ('error' in f) it.error = f.error;
      }
      this.version = f.version;
      this.state.version = f.version;
    }
  }

  /** Milliseconds from starting the connect to the first session_update. */
  get firstMs() {
    return this.first ? this.first.at - this.t0 : null;
  }

  close() {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once('close', resolve);
      this.ws.close(1000);
      setTimeout(() => {
        this.ws.terminate();
        resolve();
      }, 3000).unref();
    });
  }
}

/** The v1.1 merge rule: a known id is replaced, a new one is added after the existing ones. */
export function mergeSince(state, delta) {
  const out = { ...structuredClone(delta), interactions: structuredClone(state.interactions) };
  for (const it of delta.interactions) {
    const i = out.interactions.findIndex((x) => x.id === it.id);
    if (i >= 0) out.interactions[i] = it;
    else out.interactions.push(it);
  }
  return out;
}

export async function openProbe(url, opts) {
  const p = new Probe(url, opts);
  await Promise.race([p.opened, new Promise((r) => setTimeout(r, 15000))]);
  return p;
}
