#!/usr/bin/env node
import { runProcess } from "../dist/cmd/kubectl-otter.js";

await runProcess(process.argv.slice(2));
