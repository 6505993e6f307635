// `npm run chart:webhook`: writes charts/otter-egress/files/webhook.json, what the chart's
// ValidatingWebhookConfiguration takes from src/admission/registration.ts (the rules, the match
// conditions, the gate label). test/chart-webhook.test.ts fails while the file differs.
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { chartWebhookJson } from "../dist/src/admission/registration.js";

const file = resolve(import.meta.dirname, "..", "charts", "otter-egress", "files", "webhook.json");
writeFileSync(file, chartWebhookJson());
console.log(`wrote ${file}`);
