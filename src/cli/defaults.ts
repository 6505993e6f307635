/** How far back observations count unless --window says otherwise. */
export const DEFAULT_WINDOW = "168h";

/** How long one request to the API server may take unless --request-timeout says otherwise. */
export const DEFAULT_REQUEST_TIMEOUT = "30s";

/** Objects per list request unless --chunk-size says otherwise (kubectl's default). */
export const DEFAULT_CHUNK_SIZE = "500";
