// Optional native add-ons that dependencies of the Kubernetes client (ws, node-fetch) require()
// inside a try: what both bundles (the npm package's client, ADR 16; the single binary) leave
// out of what they bundle.
export const OPTIONAL_ADDONS = /^(bufferutil|utf-8-validate|encoding)$/;
