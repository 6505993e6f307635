#!/usr/bin/env -S MALLOC_ARENA_MAX=1 node --max-semi-space-size=4 --heap-growing-percent=25 --expose-gc
import { runProcess } from "../dist/cmd/kubectl-otter.js";

await runProcess(process.argv.slice(2));
