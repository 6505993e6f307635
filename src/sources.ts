import type { ClientIntents } from "./client-intents.js";
import type { ObservedWorkload } from "./observed-egress.js";
import type { Listening } from "./verdicts.js";

/**
 * Where a command's inputs come from. Files and the cluster both implement these;
 * the commands only see the plain data they return.
 */

export interface ObservedSource {
  readonly offline: boolean;
  observed(): Promise<ObservedWorkload[]>;
  /** Whether the collector is listening (a snapshot is judged as it is). */
  listening(): Promise<Listening>;
}

export interface IntentsSource {
  readonly fromFiles: boolean;
  intents(defaultNamespace: string): Promise<ClientIntents[]>;
}
