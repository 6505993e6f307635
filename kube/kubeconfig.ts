import { KubeConfig, type RequestContext } from "@kubernetes/client-node";
import type { RequestOptions } from "node:https";

type Dispatcher = NonNullable<ReturnType<RequestContext["getDispatcher"]>>;

/**
 * A KubeConfig whose requests share their connections to the API server.
 *
 * client-node 2.0 gives every request (each API call, each watch) a dispatcher of its own,
 * so each opens a TLS connection of its own, which then stays open, idle, until the API server
 * drops it: a collector writing 50 requests a second paid a handshake for each and held
 * hundreds of idle connections. Here the first dispatcher made for a set of credentials serves
 * every later request with the same credentials; when they change (a rotated certificate), the
 * next one takes over. The old one is not closed: a request may have been handed it and not
 * be sent yet; its idle connections time out, and it goes with its last request.
 */
export class SharedConnectionsKubeConfig extends KubeConfig {
  private shared: { readonly key: string; readonly dispatcher: Dispatcher } | undefined;

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const made = context.getDispatcher();
    if (made === undefined) return;
    const key = await this.credentials();
    if (this.shared?.key !== key) this.shared = { key, dispatcher: made };
    context.setDispatcher(this.shared.dispatcher);
  }

  /** The server and the TLS material a connection is made with (not the bearer token). */
  private async credentials(): Promise<string> {
    const o: RequestOptions = {};
    await this.applyToHTTPSOptions(o);
    const text = (v: unknown): string =>
      v === undefined ? "" : Buffer.isBuffer(v) ? v.toString("base64") : JSON.stringify(v);
    return JSON.stringify([
      this.getCurrentCluster()?.server ?? "",
      text(o.ca),
      text(o.cert),
      text(o.key),
      text(o.pfx),
      o.rejectUnauthorized ?? null,
      o.servername ?? null,
    ]);
  }
}
