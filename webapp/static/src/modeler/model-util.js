// Reading and writing what complaintflow's engine reads from a diagram, as undoable bpmn-js commands.
// Extension elements live in the spiffworkflow namespace (see spiffworkflow-moddle.json), lane roles in cf.
import { getBusinessObject, is, isAny } from 'bpmn-js/lib/util/ModelUtil';

export const TIMER_KINDS = [ 'timeDate', 'timeDuration', 'timeCycle' ];

export function extensionsOf(bo, type) {
  const container = bo && bo.get('extensionElements');
  return container ? container.get('values').filter((value) => is(value, type)) : [];
}

// Commands that make sure `bo` has <bpmn:extensionElements>; returns [container, commands].
function ensureContainer(element, bo, bpmnFactory) {
  let container = bo.get('extensionElements');
  if (container) {
    return [ container, [] ];
  }
  container = bpmnFactory.create('bpmn:ExtensionElements', { values: [] });
  container.$parent = bo;
  return [ container, [ update(element, bo, { extensionElements: container }) ] ];
}

function update(element, moddleElement, properties) {
  return { cmd: 'element.updateModdleProperties', context: { element, moddleElement, properties } };
}

function run(commandStack, commands) {
  if (commands.length) {
    commandStack.execute('properties-panel.multi-command-executor', commands);
  }
}

// <spiffworkflow:properties><spiffworkflow:property name value/></spiffworkflow:properties>
export function getSpiffProperty(element, name) {
  const bo = getBusinessObject(element);
  for (const list of extensionsOf(bo, 'spiffworkflow:Properties')) {
    const found = list.get('properties').find((p) => p.get('name') === name);
    if (found) {
      return found.get('value') || '';
    }
  }
  return '';
}

export function setSpiffProperty(injector, element, name, value) {
  const bo = getBusinessObject(element);
  const bpmnFactory = injector.get('bpmnFactory');
  const commands = [];
  let list = extensionsOf(bo, 'spiffworkflow:Properties')[0];
  let found = list && list.get('properties').find((p) => p.get('name') === name);
  if (!value) {
    if (found) {
      commands.push(update(element, list, { properties: list.get('properties').filter((p) => p !== found) }));
    }
    return run(injector.get('commandStack'), commands);
  }
  if (found) {
    return run(injector.get('commandStack'), [ update(element, found, { value }) ]);
  }
  const [ container, made ] = ensureContainer(element, bo, bpmnFactory);
  commands.push(...made);
  if (!list) {
    list = bpmnFactory.create('spiffworkflow:Properties', { properties: [] });
    list.$parent = container;
    commands.push(update(element, container, { values: [ ...container.get('values'), list ] }));
  }
  found = bpmnFactory.create('spiffworkflow:Property', { name, value });
  found.$parent = list;
  commands.push(update(element, list, { properties: [ ...list.get('properties'), found ] }));
  run(injector.get('commandStack'), commands);
}

// Elements holding only text, e.g. <spiffworkflow:calledDecisionId>sla_policy</spiffworkflow:calledDecisionId>.
export function getBodyExtension(bo, type) {
  const found = extensionsOf(bo, type)[0];
  return (found && found.get('value')) || '';
}

export function setBodyExtension(injector, element, bo, type, value) {
  const bpmnFactory = injector.get('bpmnFactory');
  const found = extensionsOf(bo, type)[0];
  if (found && value) {
    return run(injector.get('commandStack'), [ update(element, found, { value }) ]);
  }
  if (found) {
    const container = bo.get('extensionElements');
    return run(injector.get('commandStack'), [
      update(element, container, { values: container.get('values').filter((v) => v !== found) }) ]);
  }
  if (!value) {
    return;
  }
  const [ container, commands ] = ensureContainer(element, bo, bpmnFactory);
  const created = bpmnFactory.create(type, { value });
  created.$parent = container;
  commands.push(update(element, container, { values: [ ...container.get('values'), created ] }));
  run(injector.get('commandStack'), commands);
}

// --- timers --------------------------------------------------------------------------------------

export function timerDefinition(element) {
  const bo = getBusinessObject(element);
  return (bo.get('eventDefinitions') || []).find((d) => is(d, 'bpmn:TimerEventDefinition')) || null;
}

export function timerKind(definition) {
  return TIMER_KINDS.find((kind) => definition.get(kind)) || '';
}

export function setTimer(injector, element, kind, expression) {
  const definition = timerDefinition(element);
  const properties = {};
  for (const other of TIMER_KINDS) {
    properties[other] = undefined;
  }
  if (kind) {
    const bpmnFactory = injector.get('bpmnFactory');
    const formal = bpmnFactory.create('bpmn:FormalExpression', { body: expression || '' });
    formal.$parent = definition;
    properties[kind] = formal;
  }
  run(injector.get('commandStack'), [ update(element, definition, properties) ]);
}

// --- messages ------------------------------------------------------------------------------------

// The element that carries messageRef: the message event definition, or the receive/send task itself.
export function messageHolder(element) {
  const bo = getBusinessObject(element);
  if (isAny(bo, [ 'bpmn:ReceiveTask', 'bpmn:SendTask' ])) {
    return bo;
  }
  if (is(bo, 'bpmn:Event')) {
    return (bo.get('eventDefinitions') || []).find((d) => is(d, 'bpmn:MessageEventDefinition')) || null;
  }
  return null;
}

export function isThrowing(element) {
  const bo = getBusinessObject(element);
  return isAny(bo, [ 'bpmn:SendTask', 'bpmn:IntermediateThrowEvent', 'bpmn:EndEvent' ]);
}

function definitionsOf(bo) {
  let current = bo;
  while (current && !is(current, 'bpmn:Definitions')) {
    current = current.$parent;
  }
  return current;
}

export function messagesOf(element) {
  const definitions = definitionsOf(getBusinessObject(element));
  return definitions ? definitions.get('rootElements').filter((r) => is(r, 'bpmn:Message')) : [];
}

// Name the element's message: reuse a message of that name, else rename its own, else create one.
export function setMessageName(injector, element, name) {
  const holder = messageHolder(element);
  const current = holder.get('messageRef');
  const existing = messagesOf(element).find((m) => m.get('name') === name);
  if (!name) {
    return run(injector.get('commandStack'), [ update(element, holder, { messageRef: undefined }) ]);
  }
  if (existing) {
    return run(injector.get('commandStack'), [ update(element, holder, { messageRef: existing }) ]);
  }
  if (current && !isShared(element, current)) {
    return run(injector.get('commandStack'), [ update(element, current, { name }) ]);
  }
  const definitions = definitionsOf(getBusinessObject(element));
  const message = injector.get('bpmnFactory').create('bpmn:Message', { name });
  message.$parent = definitions;
  run(injector.get('commandStack'), [
    update(element, definitions, { rootElements: [ ...definitions.get('rootElements'), message ] }),
    update(element, holder, { messageRef: message }),
  ]);
}

// A message other elements also use is not renamed under them: the element gets a new one.
function isShared(element, message) {
  let users = 0;
  const definitions = definitionsOf(getBusinessObject(element));
  const seen = new Set();
  const visit = (node) => {
    if (!node || typeof node !== 'object' || seen.has(node)) {
      return;
    }
    seen.add(node);
    if (node.messageRef === message) {
      users += 1;
    }
    for (const key of [ 'rootElements', 'flowElements', 'eventDefinitions' ]) {
      const children = node[key];
      if (Array.isArray(children)) {
        children.forEach(visit);
      }
    }
  };
  visit(definitions);
  return users > 1;
}
