/**
 * The numbers a scenario reads from a service's GET /metrics. It asks for JSON
 * (`Accept: application/json`) and reads the JSON counters; if the answer is Prometheus
 * text instead, it reads the gauges whose names end in the same words
 * (`…ws_connections`, `…bus_subscriptions`, `process_resident_memory_bytes`).
 */
export interface Gauges {
  wsConnections: number;
  busSubscriptions: number;
  rss: number;
}

export async function readGauges(baseUrl: string): Promise<Gauges> {
  const response = await fetch(`${baseUrl}/metrics`, { headers: { accept: 'application/json' } });
  const text = await response.text();
  if ((response.headers.get('content-type') ?? '').includes('json')) {
    const body = JSON.parse(text) as Record<string, number>;
    return { wsConnections: body.ws_connections, busSubscriptions: body.bus_subscriptions, rss: body.rss };
  }
  const gauge = (suffix: string) => {
    const match = new RegExp(`^\\w*${suffix}(?:\\{[^}]*\\})?\\s+([0-9.e+]+)`, 'm').exec(text);
    if (!match) throw new Error(`/metrics has no gauge ending in ${suffix}`);
    return Number(match[1]);
  };
  return { wsConnections: gauge('ws_connections'), busSubscriptions: gauge('bus_subscriptions'), rss: gauge('resident_memory_bytes') };
}
