import { UsageError } from "../errors.js";

/**
 * The collector's flags that name the DNS servers it must hear: the cluster DNS Service
 * (`--dns-service kube-system/kube-dns`) and NodeLocal DNSCache pods
 * (`--node-local-dns kube-system/k8s-app=node-local-dns`, or `none`).
 */

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

export function parseDnsService(text: string): { namespace: string; name: string } {
  const [namespace = "", name = "", ...rest] = text.split("/");
  if (rest.length > 0 || !NAME.test(namespace) || !NAME.test(name) || name.length > 63) {
    throw new UsageError(`--dns-service must be NAMESPACE/NAME of a Service, not "${text}"`);
  }
  return { namespace, name };
}

export function parseNodeLocalDns(
  text: string,
): { namespace: string; selector: Record<string, string> } | undefined {
  if (text === "none") return undefined;
  const bad = () =>
    new UsageError(
      `--node-local-dns must be NAMESPACE/KEY=VALUE[,KEY=VALUE…] (a pod selector) or none, not "${text}"`,
    );
  const slash = text.indexOf("/");
  const namespace = text.slice(0, slash);
  if (slash < 0 || !NAME.test(namespace)) throw bad();
  const selector: Record<string, string> = {};
  for (const pair of text.slice(slash + 1).split(",")) {
    const eq = pair.indexOf("=");
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (eq < 0 || !LABEL_KEY.test(key) || !LABEL_VALUE.test(value) || value.length > 63) {
      throw bad();
    }
    selector[key] = value;
  }
  return { namespace, selector };
}
