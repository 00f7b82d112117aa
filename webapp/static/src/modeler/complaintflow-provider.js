// The "complaintflow" group of the properties panel: exactly what our engine reads from a diagram
// (engine/definitions.py, engine/case_sync.py, engine/scripting.py; docs/MODELING.md).
// The lists to choose from (roles, forms, decisions, helpers) and the translated labels come from the
// page's <script type="application/json" id="modeler-data"> block, handed in as `cfEditorData`.
import {
  SelectEntry, TextAreaEntry, TextFieldEntry,
  isSelectEntryEdited, isTextAreaEntryEdited, isTextFieldEntryEdited,
} from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { getBusinessObject, is, isAny } from 'bpmn-js/lib/util/ModelUtil';

import {
  TIMER_KINDS, getBodyExtension, getSpiffProperty, isThrowing, messageHolder, setBodyExtension,
  setMessageName, setSpiffProperty, setTimer, timerDefinition, timerKind,
} from './model-util';

const ROLE_PATTERN = /^(intake|dispatcher|escalation|appeals|supervisor|owner|admin|dept:[a-z][a-z0-9_]*)$/;
const FILENAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}\.json$/;
const LOW_PRIORITY = 400;
// Replaced by our group, which edits the same values with the engine's hints.
const REPLACED_GROUPS = [ 'timer', 'message' ];

export default function ComplaintflowPropertiesProvider(propertiesPanel, injector, cfEditorData) {
  this._injector = injector;
  this._data = cfEditorData;
  propertiesPanel.registerProvider(LOW_PRIORITY, this);
}

ComplaintflowPropertiesProvider.$inject = [ 'propertiesPanel', 'injector', 'cfEditorData' ];

ComplaintflowPropertiesProvider.prototype.getGroups = function(element) {
  return (groups) => {
    const entries = entriesFor(element);
    if (!entries.length) {
      return groups;
    }
    const kept = groups.filter((group) => !REPLACED_GROUPS.includes(group.id));
    const general = kept.findIndex((group) => group.id === 'general');
    kept.splice(general + 1, 0, { id: 'complaintflow', label: label(this._data, 'group'), entries });
    return kept;
  };
};

function entriesFor(element) {
  const bo = getBusinessObject(element);
  const entries = [];
  if (is(bo, 'bpmn:Lane')) {
    entries.push(entry('cf-role', LaneRole, isSelectEntryEdited), entry('cf-role-code', LaneRoleCode));
  }
  if (isAny(bo, [ 'bpmn:UserTask', 'bpmn:ManualTask' ])) {
    entries.push(
      entry('cf-form', FormSelect, isSelectEntryEdited),
      entry('cf-form-file', FormFile),
      entry('cf-due', PropertyField('dueAt', 'due', 'due_hint')),
      entry('cf-priority', PropertyField('priority', 'priority', 'priority_hint')),
      entry('cf-role-expression', PropertyField('roleExpression', 'role_expression', 'role_expression_hint')),
    );
  }
  if (is(bo, 'bpmn:Event') && timerDefinition(element)) {
    entries.push(entry('cf-timer-kind', TimerKind, isSelectEntryEdited),
      entry('cf-timer-expression', TimerExpression, isTextAreaEntryEdited));
  }
  if (is(bo, 'bpmn:BusinessRuleTask')) {
    entries.push(entry('cf-decision', DecisionSelect, isSelectEntryEdited));
  }
  if (messageHolder(element)) {
    entries.push(entry('cf-message-name', MessageName), entry('cf-message-variable', MessageVariable));
    if (isThrowing(element)) {
      entries.push(entry('cf-message-payload', MessagePayload, isTextAreaEntryEdited));
    }
  }
  if (is(bo, 'bpmn:ScriptTask')) {
    entries.push(entry('cf-script', Script, isTextAreaEntryEdited));
  }
  if (is(bo, 'bpmn:Task') && !is(bo, 'bpmn:ScriptTask')) {
    entries.push(entry('cf-pre-script', ExtensionScript('spiffworkflow:PreScript', 'pre_script'),
      isTextAreaEntryEdited),
    entry('cf-post-script', ExtensionScript('spiffworkflow:PostScript', 'post_script'), isTextAreaEntryEdited));
  }
  return entries;
}

function entry(id, component, isEdited = isTextFieldEntryEdited) {
  return { id, component, isEdited };
}

function label(data, key) {
  return (data.labels && data.labels[key]) || key;
}

function useData() {
  const data = useService('cfEditorData');
  return [ data, (key) => label(data, key) ];
}

// Options for a select: "(none)" first, the known values, and the current value when it is not among them.
function options(t, known, current) {
  const list = [ { value: '', label: t('none') }, ...known ];
  if (current && !known.some((option) => option.value === current)) {
    list.push({ value: current, label: current });
  }
  return list;
}

// --- lanes ------------------------------------------------------------------------------------------

function LaneRole({ element, id }) {
  const modeling = useService('modeling');
  const [ data, t ] = useData();
  const roles = (data.roles || []).map((role) => ({ value: role.code, label: `${role.label} (${role.code})` }));
  return <SelectEntry id={ id } element={ element } label={ t('role') } description={ t('role_hint') }
    getValue={ () => getBusinessObject(element).get('cf:role') || '' }
    setValue={ (value) => modeling.updateProperties(element, { 'cf:role': value || undefined }) }
    getOptions={ () => options(t, roles, getBusinessObject(element).get('cf:role')) } />;
}

function LaneRoleCode({ element, id }) {
  const modeling = useService('modeling');
  const debounce = useService('debounceInput');
  const [ , t ] = useData();
  return <TextFieldEntry id={ id } element={ element } label={ t('role_code') } description={ t('role_code_hint') }
    debounce={ debounce } getValue={ () => getBusinessObject(element).get('cf:role') || '' }
    validate={ (value) => (value && !ROLE_PATTERN.test(value.trim()) ? t('role_invalid') : null) }
    setValue={ (value, error) => {
      if (!error) {
        modeling.updateProperties(element, { 'cf:role': (value || '').trim() || undefined });
      }
    } } />;
}

// --- user tasks -----------------------------------------------------------------------------------

function formLink(data, t, name) {
  if (!name || !data.urls || !data.urls.form_editor) {
    return data.urls && data.urls.new_form ? <a href={ data.urls.new_form } target="_blank" rel="noopener"
      class="cf-panel-link">{ t('new_form') }</a> : null;
  }
  const href = data.urls.form_editor.replace('__NAME__', encodeURIComponent(name));
  return <a href={ href } target="_blank" rel="noopener" class="cf-panel-link">{ t('open_form') }</a>;
}

function FormSelect({ element, id }) {
  const injector = useService('injector');
  const [ data, t ] = useData();
  const current = getSpiffProperty(element, 'formJsonSchemaFilename');
  const forms = (data.forms || []).map((name) => ({ value: name, label: name }));
  return <SelectEntry id={ id } element={ element } label={ t('form') } description={ formLink(data, t, current) }
    getValue={ () => getSpiffProperty(element, 'formJsonSchemaFilename') }
    setValue={ (value) => setSpiffProperty(injector, element, 'formJsonSchemaFilename', value) }
    getOptions={ () => options(t, forms, getSpiffProperty(element, 'formJsonSchemaFilename')) } />;
}

function FormFile({ element, id }) {
  const injector = useService('injector');
  const debounce = useService('debounceInput');
  const [ , t ] = useData();
  return <TextFieldEntry id={ id } element={ element } label={ t('form_file') } description={ t('form_file_hint') }
    debounce={ debounce } getValue={ () => getSpiffProperty(element, 'formJsonSchemaFilename') }
    validate={ (value) => (value && !FILENAME_PATTERN.test(value.trim()) ? t('form_file_invalid') : null) }
    setValue={ (value, error) => {
      if (!error) {
        setSpiffProperty(injector, element, 'formJsonSchemaFilename', (value || '').trim());
      }
    } } />;
}

function PropertyField(name, labelKey, hintKey) {
  return function SpiffPropertyField({ element, id }) {
    const injector = useService('injector');
    const debounce = useService('debounceInput');
    const [ , t ] = useData();
    return <TextFieldEntry id={ id } element={ element } label={ t(labelKey) } description={ t(hintKey) }
      debounce={ debounce } getValue={ () => getSpiffProperty(element, name) }
      setValue={ (value) => setSpiffProperty(injector, element, name, (value || '').trim()) } />;
  };
}

// --- timers -------------------------------------------------------------------------------------

function TimerKind({ element, id }) {
  const injector = useService('injector');
  const [ , t ] = useData();
  const current = () => {
    const definition = timerDefinition(element);
    return definition ? timerKind(definition) : '';
  };
  return <SelectEntry id={ id } element={ element } label={ t('timer_kind') }
    getValue={ current }
    setValue={ (kind) => {
      const definition = timerDefinition(element);
      const old = current();
      const body = old ? (definition.get(old).get('body') || '') : '';
      setTimer(injector, element, kind, body);
    } }
    getOptions={ () => [ { value: '', label: t('none') },
      ...TIMER_KINDS.map((kind) => ({ value: kind, label: t(kind) })) ] } />;
}

function helperList(data) {
  return <ul class="cf-helpers">{ (data.helpers || []).map((helper) =>
    <li><code>{ helper.signature }</code>{ helper.doc ? ` — ${helper.doc}` : '' }</li>) }</ul>;
}

function TimerExpression({ element, id }) {
  const injector = useService('injector');
  const debounce = useService('debounceInput');
  const [ data, t ] = useData();
  const definition = timerDefinition(element);
  const kind = definition ? timerKind(definition) : '';
  return <TextAreaEntry id={ id } element={ element } label={ t('timer_expression') } debounce={ debounce }
    rows={ 2 } monospace autoResize disabled={ !kind }
    description={ <div>{ t('timer_hint') }{ helperList(data) }</div> }
    getValue={ () => {
      const found = timerDefinition(element);
      const current = found && timerKind(found);
      return current ? (found.get(current).get('body') || '') : '';
    } }
    setValue={ (value) => {
      const found = timerDefinition(element);
      setTimer(injector, element, timerKind(found) || 'timeDate', value || '');
    } } />;
}

// --- business rule tasks ------------------------------------------------------------------------

function DecisionSelect({ element, id }) {
  const injector = useService('injector');
  const [ data, t ] = useData();
  const bo = getBusinessObject(element);
  const decisions = (data.decisions || []).map((d) => ({ value: d.id, label: d.name ? `${d.name} (${d.id})` : d.id }));
  const current = getBodyExtension(bo, 'spiffworkflow:CalledDecisionId');
  const known = (data.decisions || []).find((d) => d.id === current);
  const link = known && data.urls && data.urls.dmn_editor ? <a class="cf-panel-link" target="_blank" rel="noopener"
    href={ data.urls.dmn_editor.replace('__NAME__', encodeURIComponent(known.file)) }>{ t('open_decision') }</a> : null;
  return <SelectEntry id={ id } element={ element } label={ t('decision') } description={ link }
    getValue={ () => getBodyExtension(bo, 'spiffworkflow:CalledDecisionId') }
    setValue={ (value) => setBodyExtension(injector, element, bo, 'spiffworkflow:CalledDecisionId', value) }
    getOptions={ () => options(t, decisions, getBodyExtension(bo, 'spiffworkflow:CalledDecisionId')) } />;
}

// --- messages -----------------------------------------------------------------------------------

function MessageName({ element, id }) {
  const injector = useService('injector');
  const debounce = useService('debounceInput');
  const [ , t ] = useData();
  return <TextFieldEntry id={ id } element={ element } label={ t('message_name') } debounce={ debounce }
    description={ t('correlation_hint') }
    getValue={ () => {
      const ref = messageHolder(element).get('messageRef');
      return (ref && ref.get('name')) || '';
    } }
    setValue={ (value) => setMessageName(injector, element, (value || '').trim()) } />;
}

function MessageVariable({ element, id }) {
  const injector = useService('injector');
  const debounce = useService('debounceInput');
  const [ , t ] = useData();
  const holder = messageHolder(element);
  return <TextFieldEntry id={ id } element={ element } label={ t('message_variable') }
    description={ t('message_variable_hint') } debounce={ debounce }
    getValue={ () => getBodyExtension(holder, 'spiffworkflow:MessageVariable') }
    setValue={ (value) => setBodyExtension(injector, element, holder, 'spiffworkflow:MessageVariable',
      (value || '').trim()) } />;
}

function MessagePayload({ element, id }) {
  const injector = useService('injector');
  const debounce = useService('debounceInput');
  const [ , t ] = useData();
  const holder = messageHolder(element);
  return <TextAreaEntry id={ id } element={ element } label={ t('message_payload') } monospace rows={ 2 }
    description={ t('message_payload_hint') } debounce={ debounce } autoResize
    getValue={ () => getBodyExtension(holder, 'spiffworkflow:MessagePayload') }
    setValue={ (value) => setBodyExtension(injector, element, holder, 'spiffworkflow:MessagePayload', value) } />;
}

// --- scripts ------------------------------------------------------------------------------------

function Script({ element, id }) {
  const modeling = useService('modeling');
  const debounce = useService('debounceInput');
  const [ data, t ] = useData();
  return <TextAreaEntry id={ id } element={ element } label={ t('script') } monospace rows={ 8 } autoResize
    description={ <div>{ t('script_hint') }{ helperList(data) }</div> } debounce={ debounce }
    getValue={ () => getBusinessObject(element).get('script') || '' }
    setValue={ (value) => modeling.updateProperties(element, { script: value || undefined }) } />;
}

function ExtensionScript(type, labelKey) {
  return function SpiffScript({ element, id }) {
    const injector = useService('injector');
    const debounce = useService('debounceInput');
    const [ , t ] = useData();
    const bo = getBusinessObject(element);
    return <TextAreaEntry id={ id } element={ element } label={ t(labelKey) } monospace rows={ 2 } autoResize
      description={ t('script_hint') } debounce={ debounce }
      getValue={ () => getBodyExtension(bo, type) }
      setValue={ (value) => setBodyExtension(injector, element, bo, type, value) } />;
  };
}
