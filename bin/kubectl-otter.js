#!/usr/bin/env node
import { main } from "../dist/cmd/kubectl-otter.js";

process.exitCode = await main(process.argv.slice(2));
