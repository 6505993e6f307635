/**
 * The AdmissionReviews `npm run bench:webhook` sends: a ClientIntents update that drifts (judged,
 * warned and logged), and the review most deploys make: a Deployment rolled out to a new image,
 * judged because its pod template changed (updates that change no template are kept from the
 * webhook by its match conditions). Its template is what a real Deployment carries, about 4 KB
 * in each of the object and the old object.
 */

/** An UPDATE of one object, as the API server sends it to the webhook. */
function update(
  type: { group: string; version: string; kind: string; resource: string },
  object: { metadata: { name: string; namespace: string } },
  oldObject?: unknown,
): string {
  const { group, version, kind, resource } = type;
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: "5f2b6a0e-8d1c-4f6a-9a47-2f0c9b1d3e11",
      kind: { group, version, kind },
      resource: { group, version, resource },
      name: object.metadata.name,
      namespace: object.metadata.namespace,
      operation: "UPDATE",
      userInfo: {
        username: "kubernetes-admin",
        groups: ["system:masters", "system:authenticated"],
      },
      object,
      ...(oldObject === undefined ? {} : { oldObject }),
      dryRun: false,
    },
  });
}

/** A ClientIntents updated (without its old object: the review the benchmark always sent). */
export function intentsUpdate(intents: { metadata: { name: string; namespace: string } }): string {
  const type = { group: "k8s.otterize.com", version: "v2beta1" };
  return update({ ...type, kind: "ClientIntents", resource: "clientintents" }, intents);
}

function container(name: string, tag: string) {
  return {
    name,
    image: `registry.example.com/team/${name}:${tag}`,
    imagePullPolicy: "IfNotPresent",
    ports: [
      { containerPort: 8080, name: "http", protocol: "TCP" },
      { containerPort: 9090, name: "metrics", protocol: "TCP" },
    ],
    env: Array.from({ length: 15 }, (_, i) => ({
      name: `SETTING_${i}`,
      value: `value-${i}-abcdefgh`,
    })),
    resources: {
      requests: { cpu: "100m", memory: "128Mi" },
      limits: { cpu: "1", memory: "512Mi" },
    },
    livenessProbe: {
      httpGet: { path: "/healthz", port: 8080, scheme: "HTTP" },
      initialDelaySeconds: 10,
      periodSeconds: 10,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
    },
    readinessProbe: {
      httpGet: { path: "/readyz", port: 8080, scheme: "HTTP" },
      periodSeconds: 5,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
    },
    volumeMounts: [
      { name: "config", mountPath: "/etc/app" },
      { name: "tmp", mountPath: "/tmp" },
    ],
    securityContext: {
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    },
    terminationMessagePath: "/dev/termination-log",
    terminationMessagePolicy: "File",
  };
}

function deployment(name: string, namespace: string, tag: string, resourceVersion: string) {
  const labels = {
    app: name,
    "app.kubernetes.io/name": name,
    "app.kubernetes.io/instance": `${name}-prod`,
  };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace, labels, resourceVersion, generation: 7 },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: name } },
      strategy: {
        type: "RollingUpdate",
        rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" },
      },
      template: {
        metadata: { labels, annotations: { "prometheus.io/scrape": "true" } },
        spec: {
          containers: [container(name, tag), container(`${name}-sidecar`, "v1.2.3")],
          volumes: [
            { name: "config", configMap: { name: `${name}-config`, defaultMode: 420 } },
            { name: "tmp", emptyDir: {} },
          ],
          restartPolicy: "Always",
          terminationGracePeriodSeconds: 30,
          dnsPolicy: "ClusterFirst",
          serviceAccountName: name,
          securityContext: { fsGroup: 1000 },
          schedulerName: "default-scheduler",
        },
      },
    },
  };
}

/** A Deployment whose first container moves from v1.2.3 to v1.2.4. */
export function deploymentRollout(name: string, namespace: string): string {
  return update(
    { group: "apps", version: "v1", kind: "Deployment", resource: "deployments" },
    deployment(name, namespace, "v1.2.4", "1002"),
    deployment(name, namespace, "v1.2.3", "1001"),
  );
}
