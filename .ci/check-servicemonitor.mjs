// Validates every ServiceMonitor in the given YAML files against the Prometheus Operator's CRD
// schema (validators generated from the CRD by @kubernetes-models/prometheus-operator), for
// .ci/check-deploy: kubernetes-validate has no schema for custom resources.
import { readFileSync } from "node:fs";
import { loadAll } from "js-yaml";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";

let checked = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of loadAll(readFileSync(file, "utf8"))) {
    if (doc?.kind !== "ServiceMonitor") continue;
    try {
      new ServiceMonitor(doc).validate();
    } catch (e) {
      console.error(`${file}: ServiceMonitor ${doc.metadata?.name}: ${e.message}`);
      process.exit(1);
    }
    checked++;
    console.log(`${file}: ServiceMonitor ${doc.metadata.name} matches the CRD schema`);
  }
}
if (checked === 0) {
  console.error("no ServiceMonitor found");
  process.exit(1);
}
