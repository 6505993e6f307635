import { SEED_INTERNET } from "../controlplane/node.js";

/**
 * The seed's app, as workloads of the test client image (test/images/client.mjs): Deployments
 * joke-server and joke-worker, StatefulSet nats, Deployment redis behind Service redis.
 * joke-worker resolves and connects to the internet names and to nats and redis by their short
 * names (through the search path); joke-server to nats. Used by the node tests and
 * `npm run bench:cluster`.
 */

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const CLIENT_IMAGE = "otter-egress.test/client:0.1.0";
export const SEED_NAMES = Object.keys(SEED_INTERNET);

/** A Deployment (or StatefulSet) of the test client that meets the restricted standard. */
export function clientWorkload(
  kind: "Deployment" | "StatefulSet",
  name: string,
  args: string[],
  namespace = "dev",
): Obj {
  return {
    apiVersion: "apps/v1",
    kind,
    metadata: { name, namespace },
    spec: {
      replicas: 1,
      ...(kind === "StatefulSet" ? { serviceName: name } : {}),
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 1,
          securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name,
              image: CLIENT_IMAGE,
              imagePullPolicy: "Never",
              args,
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ["ALL"] },
              },
            },
          ],
        },
      },
    },
  };
}

export function clientService(name: string, port: number, namespace = "dev"): Obj {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace },
    spec: { selector: { app: name }, ports: [{ port, targetPort: port }] },
  };
}

/** Every object of the seed app; each caller looks up every `every`. */
export function seedApp(every = "3s"): Obj[] {
  const call = ["call", "--every", every];
  return [
    clientWorkload("Deployment", "redis", ["listen", "6379"]),
    clientService("redis", 6379),
    clientWorkload("StatefulSet", "nats", ["listen", "4222"]),
    clientService("nats", 4222),
    clientWorkload("Deployment", "joke-server", [...call, "nats:4222"]),
    clientWorkload("Deployment", "joke-worker", [
      ...call,
      ...SEED_NAMES.map((n) => `${n}:443`),
      "nats:4222",
      "redis:6379",
    ]),
  ];
}

export const SEED_ROLLOUTS = [
  "deployment/redis",
  "statefulset/nats",
  "deployment/joke-server",
  "deployment/joke-worker",
];
