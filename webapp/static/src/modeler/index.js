// The BPMN modeler bundle (built by webapp/static/vendor/build.sh into vendor/modeler/):
// bpmn-js Modeler, the standard properties panel and our "complaintflow" group.
// Exposes window.CfBpmnEditor.create(...); the page glue is webapp/static/js/modeler.js.
import BpmnModeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';

import ComplaintflowPropertiesProvider from './complaintflow-provider';
import cfModdle from './cf-moddle.json';
import spiffModdle from './spiffworkflow-moddle.json';

import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn.css';
import '@bpmn-io/properties-panel/dist/assets/properties-panel.css';

// English msgids of diagram-js / bpmn-js / the properties panel -> the page's language (from the page data).
function translateModule(texts) {
  function translate(template, replacements) {
    const text = (texts && texts[template]) || template;
    return text.replace(/{([^}]+)}/g, (match, key) => (replacements && key in replacements ? replacements[key] : match));
  }
  return { translate: [ 'value', translate ] };
}

function create({ container, propertiesParent, data }) {
  return new BpmnModeler({
    container,
    keyboard: { bindTo: document },
    // Our group opens first: it holds what the engine reads (role, form, deadlines, timers, messages).
    propertiesPanel: { parent: propertiesParent, layout: { groups: { complaintflow: { open: true } } } },
    additionalModules: [
      BpmnPropertiesPanelModule,
      BpmnPropertiesProviderModule,
      translateModule(data.translations || {}),
      {
        __init__: [ 'complaintflowPropertiesProvider' ],
        cfEditorData: [ 'value', data ],
        complaintflowPropertiesProvider: [ 'type', ComplaintflowPropertiesProvider ],
      },
    ],
    moddleExtensions: { cf: cfModdle, spiffworkflow: spiffModdle },
  });
}

window.CfBpmnEditor = { create };
