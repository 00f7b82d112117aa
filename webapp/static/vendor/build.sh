#!/usr/bin/env bash
# Rebuild the vendored front-end files from the npm registry (pinned in package-lock.json).
# Run from anywhere: webapp/static/vendor/build.sh. Commit what it writes.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --ignore-scripts
rm -rf bpmn-js && mkdir -p bpmn-js
cp node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js bpmn-js/
cp node_modules/bpmn-js/dist/assets/diagram-js.css node_modules/bpmn-js/dist/assets/bpmn-js.css bpmn-js/
cp -r node_modules/bpmn-js/dist/assets/bpmn-font bpmn-js/
cp node_modules/bpmn-js/LICENSE bpmn-js/LICENSE
rm -rf htmx && mkdir -p htmx
cp node_modules/htmx.org/dist/htmx.min.js htmx/
cp node_modules/htmx.org/LICENSE htmx/LICENSE
rm -rf chart.js && mkdir -p chart.js
cp node_modules/chart.js/dist/chart.umd.min.js chart.js/
cp node_modules/chart.js/LICENSE.md chart.js/LICENSE.md
rm -rf node_modules
echo "vendored: $(ls bpmn-js) $(ls htmx) $(ls chart.js)"
