import { collectDefaultMetrics, Registry } from "prom-client";

/**
 * A Prometheus registry (prom-client) holding a server's own metrics beside the process's:
 * CPU, memory, event-loop lag, GC pauses and open file descriptors.
 */
export function metricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** `source="dnstap",stage="dns"` → its labels, for metrics counted under such keys. */
export function labelsOf(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const m of text.matchAll(/(\w+)="([^"]*)"/g)) labels[m[1] as string] = m[2] as string;
  return labels;
}
