/**
 * What the plugin uses of the Kubernetes client. `npm run build` replaces this module's output
 * with one bundled file of only these names and what they need (scripts/bundle-plugin-client.mjs,
 * ADR 16): the whole client is some 1,900 modules, which took a command 0.37 s and 85 MB to
 * load before it read anything. The webhook and the collector import the client as it is.
 */
export {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  HttpMethod,
  RequestContext,
} from "@kubernetes/client-node";
export { SharedConnectionsKubeConfig } from "./kubeconfig.js";
// The fetch client-node makes its requests with (a list is read as it arrives: ADR 22).
export { fetch } from "undici";
