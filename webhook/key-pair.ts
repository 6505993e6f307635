import forge from "node-forge";
import type { KeyPair } from "../src/tls.js";

/**
 * A new RSA key pair, from node-forge's random source: the randomness src/tls.ts takes as an
 * input (ADR 1), drawn here at the edge.
 */
export function generateKeyPair(bits = 2048): KeyPair {
  return forge.pki.rsa.generateKeyPair({ bits, e: 0x10001 });
}
