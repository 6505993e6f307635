import { UsageError } from "../errors.js";

/** ":6000" → all interfaces; "127.0.0.1:6000"; "[::1]:6000". */
export function hostPort(text: string, flag: string): { host?: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new UsageError(`${flag} must be HOST:PORT or :PORT, not "${text}"`);
  const host = m[1] ?? m[2];
  return host ? { host, port } : { port };
}
