/** How far back observations count unless --window says otherwise. */
export const DEFAULT_WINDOW = "168h";

/** How long one request to the API server may take unless --request-timeout says otherwise. */
export const DEFAULT_REQUEST_TIMEOUT = "30s";

/** Objects per list request unless --chunk-size says otherwise (kubectl's default). */
export const DEFAULT_CHUNK_SIZE = "500";

/**
 * Where the chart's README installs it (`helm install … -n otter-egress`): the collector's
 * namespace, whose Lease the plugin and the webhook read, and the webhook's.
 */
export const DEFAULT_NAMESPACE = "otter-egress";

/** The verdicts that fail a check (--fail-on) or deny (the webhook's --deny-on) by default. */
export const DEFAULT_FAILING = "missing,unnecessary";
