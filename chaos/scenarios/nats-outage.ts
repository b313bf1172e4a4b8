import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Session } from '../../src/protocol/protocol.js';
import { freePort, waitForPort } from '../../test/helpers/ports.js';
import { Follower } from '../lib/follower.js';
import { sleep, timeUntil, type Scenario } from '../lib/scenario.js';
import { StalenessProbe } from '../lib/staleness.js';
import { Stack } from '../lib/stack.js';
import { Writer } from '../lib/writer.js';

const NATS_SERVER = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

/**
 * (1) The one nats-server goes away for 10 s under writes: /readyz answers 503 while it is
 * away, and clients hold the database's version within 2 s of its return.
 * (2) A cluster of three, NATS_URL naming all three; the node the clients' replica is
 * connected to is killed: no client is stale for more than 2 s.
 */
export const natsOutage: Scenario = {
  name: 'nats-outage',
  async run({ quick, log }, guarantees) {
    const outageMs = quick ? 5000 : 10_000;
    const figures: Record<string, number | string> = {};
    {
      const stack = await Stack.create();
      try {
        const nats = await stack.nats();
        const env = { NATS_URL: nats.url };
        const a = await stack.start(env);
        const b = await stack.start(env);
        const { followers, writer, ids } = await load(stack, a.wsBase, b.api(stack.apiKey), 50);
        await sleep(500);
        const probe = new StalenessProbe(stack, followers).start();
        await nats.stop();
        const outageEnds = performance.now() + outageMs;
        let polls = 0;
        let notReady = 0;
        await sleep(1000); // the client notices a dead server within its ping / socket close
        while (performance.now() < outageEnds) {
          const status = await fetch(`${a.baseUrl}/readyz`).then((r) => r.status, () => 0);
          polls++;
          if (status === 503) notReady++;
          await sleep(200);
        }
        guarantees.check(polls > 0 && notReady === polls, `/readyz answered 503 to ${notReady} of ${polls} polls during the outage`);
        log(`outage over; /readyz 503 to ${notReady}/${polls}`);
        await nats.resume();
        const target = await stack.versions(ids);
        const took = await timeUntil(() => followers.every((f) => f.version >= (target.get(f.sessionId) ?? 0)), 15_000);
        guarantees.check(took >= 0 && took <= 2000, `clients held the database version ${took < 0 ? 'not within 15 s' : `${took} ms`} after NATS was back (bound 2000 ms)`);
        const outageLag = await probe.stop();
        await writer.stop();
        const disorder = followers.flatMap((f) => f.disorder);
        guarantees.check(disorder.length === 0, `${disorder.length} frames out of order during the NATS outage`);
        figures['longest client staleness during the outage (ms)'] = outageLag;
        for (const follower of followers) follower.stop();
        figures['outage (s)'] = outageMs / 1000;
        figures['/readyz 503 during the outage'] = `${notReady}/${polls} polls`;
        figures['writes acknowledged during the run'] = writer.acknowledged;
        figures['clients current after NATS was back (ms)'] = took;
      } finally {
        await stack.dispose();
      }
    }
    {
      const stack = await Stack.create();
      const cluster = await NatsCluster.start(3);
      stack.onDispose(() => cluster.dispose());
      try {
        const env = { NATS_URL: cluster.urls.join(',') };
        const a = await stack.start(env);
        const b = await stack.start(env);
        const { followers, writer } = await load(stack, a.wsBase, b.api(stack.apiKey), 50);
        await sleep(1000);
        const victim = await cluster.nodeWithMostClients();
        log(`killing cluster node ${victim} (client connections per node: ${(await cluster.clientCounts()).join(', ')})`);
        const probe = new StalenessProbe(stack, followers).start();
        await sleep(500);
        await cluster.kill(victim);
        await sleep(quick ? 3000 : 10_000);
        log('measuring done; stopping the writer');
        const maxLag = await probe.stop();
        await writer.stop();
        log('writer stopped');
        guarantees.check(maxLag <= 2000, `a client was stale for ${maxLag} ms after the node was killed (bound 2000 ms)`);
        const disorder = followers.flatMap((f) => f.disorder);
        guarantees.check(disorder.length === 0, `${disorder.length} frames out of order during the node loss`);
        for (const follower of followers) follower.stop();
        figures['cluster node killed: longest client staleness (ms)'] = maxLag;
        figures['cluster: writes acknowledged'] = writer.acknowledged;
      } finally {
        await stack.dispose();
      }
    }
    return figures;
  },
};

async function load(stack: Stack, wsBase: string, api: ReturnType<Stack['services'][number]['api']>, clients: number) {
  const sessions: Session[] = [];
  for (let i = 0; i < 5; i++) {
    const session = await api.createSession(`nats ${i}`);
    await api.addInteraction(session.id, 'p');
    sessions.push(await api.getSession(session.id));
  }
  const ids = sessions.map((s) => s.id);
  const followers = Array.from({ length: clients }, (_, i) => new Follower(wsBase, ids[i % ids.length], stack.apiKey).start());
  await timeUntil(() => followers.every((f) => f.version > 0), 10_000);
  const writer = new Writer(api, sessions, 50).start();
  return { followers, writer, ids };
}

/** Three clustered nats-servers on loopback, each with a monitoring port to see who is connected where. */
class NatsCluster {
  private constructor(
    private readonly nodes: { port: number; monitor: number; process?: ChildProcess; dir: string }[],
  ) {}

  static async start(size: number): Promise<NatsCluster> {
    const nodes = [];
    for (let i = 0; i < size; i++) nodes.push({ port: await freePort(), cluster: await freePort(), monitor: await freePort(), dir: mkdtempSync(join(tmpdir(), 'nats-cluster-')) });
    const routes = nodes.map((node) => `nats://127.0.0.1:${node.cluster}`).join(',');
    const started = nodes.map((node) => ({
      ...node,
      process: spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(node.port), '-m', String(node.monitor), '--cluster_name', 'chaos', '--cluster', `nats://127.0.0.1:${node.cluster}`, '--routes', routes], { stdio: 'ignore' }),
    }));
    for (const node of started) await waitForPort(node.port);
    const cluster = new NatsCluster(started);
    // Routes form asynchronously: wait until every node sees the two others.
    await timeUntil(async () => (await Promise.all(started.map((node) => fetch(`http://127.0.0.1:${node.monitor}/routez`).then((r) => r.json() as Promise<{ num_routes: number }>, () => ({ num_routes: 0 }))))).every((r) => r.num_routes >= size - 1), 10_000);
    return cluster;
  }

  get urls(): string[] {
    return this.nodes.map((node) => `nats://127.0.0.1:${node.port}`);
  }

  async clientCounts(): Promise<number[]> {
    return Promise.all(this.nodes.map((node) => (node.process?.exitCode === null && node.process.signalCode === null ? fetch(`http://127.0.0.1:${node.monitor}/connz`).then((r) => r.json() as Promise<{ num_connections: number }>).then((c) => c.num_connections, () => 0) : 0)));
  }

  async nodeWithMostClients(): Promise<number> {
    const counts = await this.clientCounts();
    return counts.indexOf(Math.max(...counts));
  }

  async kill(index: number): Promise<void> {
    const child = this.nodes[index].process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  async dispose(): Promise<void> {
    for (let i = 0; i < this.nodes.length; i++) await this.kill(i);
    for (const node of this.nodes) rmSync(node.dir, { recursive: true, force: true });
  }
}
