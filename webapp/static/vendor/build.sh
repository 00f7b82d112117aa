#!/usr/bin/env bash
# Rebuild the vendored front-end files from the npm registry (pinned in package-lock.json).
# Run from anywhere: webapp/static/vendor/build.sh. Commit what it writes.
#
# Outputs:
#   bpmn-js/   the bpmn-js navigated viewer (case and task pages)
#   modeler/   our BPMN editor: bpmn-js Modeler + properties panel + webapp/static/src/modeler/,
#              bundled and minified by esbuild (modeler.js, modeler.css, fonts/, LICENSES.txt)
#   dmn-js/    dmn-js's prebuilt DMN modeler with its CSS and fonts
#   htmx/, chart.js/
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

# The modeler bundle. Our sources sit outside this folder: NODE_PATH lets them import these node_modules.
rm -rf modeler && mkdir -p modeler
NODE_PATH="$PWD/node_modules" node_modules/.bin/esbuild ../src/modeler/index.js \
  --bundle --minify --format=iife --target=es2020 --charset=utf8 \
  --loader:.js=jsx --jsx=automatic --jsx-import-source=@bpmn-io/properties-panel/preact \
  --loader:.woff=file --loader:.woff2=file --loader:.ttf=file --loader:.eot=file --loader:.svg=file \
  --asset-names='fonts/[name]' --entry-names=modeler --outdir=modeler \
  --legal-comments=none --metafile=modeler-meta.json --log-level=warning
node ../src/collect-licenses.mjs modeler-meta.json modeler/LICENSES.txt
rm -f modeler-meta.json

rm -rf dmn-js && mkdir -p dmn-js
cp node_modules/dmn-js/dist/dmn-modeler.production.min.js dmn-js/
cp -r node_modules/dmn-js/dist/assets/. dmn-js/
cp node_modules/dmn-js/LICENSE dmn-js/LICENSE

rm -rf node_modules
echo "vendored: $(ls bpmn-js) | $(ls modeler) | $(ls dmn-js) | $(ls htmx) | $(ls chart.js)"
