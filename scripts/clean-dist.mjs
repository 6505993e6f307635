// Empties dist/ before a build: a test file moved or deleted must not keep running from an
// output tsc left behind.
import { rmSync } from "node:fs";
import { resolve } from "node:path";

rmSync(resolve(import.meta.dirname, "..", "dist"), { recursive: true, force: true });
