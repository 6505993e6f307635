#!/usr/bin/env node
import { main } from "../dist/cmd/kubectl-otter.js";

const code = await main(process.argv.slice(2));
// Exit once stdout is flushed: an abandoned request to an unreachable cluster must not keep us alive.
process.stdout.write("", () => process.exit(code));
