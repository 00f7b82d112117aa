"""What each Camunda 7 / Zeebe construct means in complaintflow: the tables engine.camunda_diagram reads.

Harmless vendor attributes and extensions are dropped and reported once per kind ("ignored");
features complaintflow does not have are dropped and reported per element with what to do instead
("unsupported"). A vendor attribute or extension in neither table is reported as not understood.
"""
from __future__ import annotations

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
MODELER_NS = "http://camunda.org/schema/modeler/1.0"
# Camunda 7 grew out of Activiti; Flowable is its sibling. Same attribute names, other namespaces.
CAMUNDA_NAMESPACES = {
    "http://camunda.org/schema/1.0/bpmn": "camunda",
    "http://activiti.org/bpmn": "activiti",
    "http://flowable.org/bpmn": "flowable",
}
VENDOR_NAMESPACES = {**CAMUNDA_NAMESPACES, ZEEBE_NS: "zeebe", MODELER_NS: "modeler"}

HUMAN_TASKS = ("userTask", "manualTask")
# Attributes a plain BPMN activity may carry; the rest belong to the element type it had.
ACTIVITY_ATTRIBUTES = ("id", "name", "isForCompensation", "startQuantity", "completionQuantity", "default")
CONNECTORS_HINT = ("to send an SMS or start a linked case, make it a service task calling the connector "
                   "sms.send or case.start (docs/MODELING.md); work a person does belongs in a user task")
NOOP_RESULT = "It became a script task that does nothing: the case passes straight through it."

# Harmless vendor attributes and extensions: dropped, reported once per file and kind.
IGNORED_ATTRIBUTES: dict[str, tuple[str, str]] = {
    "asyncBefore": ("async", "complaintflow runs each step in the transaction of the call that reached it"),
    "asyncAfter": ("async", "complaintflow runs each step in the transaction of the call that reached it"),
    "exclusive": ("async", "complaintflow runs each step in the transaction of the call that reached it"),
    "jobPriority": ("job_priority", "there are no jobs to prioritise"),
    "taskPriority": ("job_priority", "there are no external tasks to prioritise"),
    "historyTimeToLive": ("history_time_to_live", "complaintflow keeps the audit log of every case"),
    "versionTag": ("version_tag", "complaintflow numbers versions itself at each deploy"),
    "isStartableInTasklist": ("tasklist", "there is no Camunda Tasklist"),
    "executionPlatform": ("modeler", "the modeler's target engine"),
    "executionPlatformVersion": ("modeler", "the modeler's target engine"),
    "modelerTemplate": ("modeler", "element templates are a modeler feature"),
    "modelerTemplateVersion": ("modeler", "element templates are a modeler feature"),
    "modelerTemplateIcon": ("modeler", "element templates are a modeler feature"),
    "calledElementBinding": ("version_binding", "the latest deployed version is always used"),
    "calledElementVersion": ("version_binding", "the latest deployed version is always used"),
    "calledElementVersionTag": ("version_binding", "the latest deployed version is always used"),
    "calledElementTenantId": ("version_binding", "there are no tenants"),
    "decisionRefBinding": ("version_binding", "the latest deployed version is always used"),
    "decisionRefVersion": ("version_binding", "the latest deployed version is always used"),
    "decisionRefVersionTag": ("version_binding", "the latest deployed version is always used"),
    "decisionRefTenantId": ("version_binding", "there are no tenants"),
    "formRefBinding": ("version_binding", "the latest deployed form is always used"),
    "formRefVersion": ("version_binding", "the latest deployed form is always used"),
    "formHandlerClass": ("form_handler", "forms are JSON Schemas checked by complaintflow"),
    "variableName": ("conditional_event_variables", "conditions are checked whenever the case moves"),
    "variableEvents": ("conditional_event_variables", "conditions are checked whenever the case moves"),
}
IGNORED_EXTENSIONS: dict[str, tuple[str, str]] = {
    "properties": ("properties", "custom properties are for tools; complaintflow reads its own spiffworkflow "
                                 "properties"),
    "failedJobRetryTimeCycle": ("job_retry", "there are no jobs to retry"),
    "taskHeaders": ("job_headers", "there are no jobs to carry headers"),
    "userTask": ("zeebe_user_task", "every user task is complaintflow's own"),
    "versionTag": ("version_tag", "complaintflow numbers versions itself at each deploy"),
}
# Vendor features complaintflow does not have: dropped, reported per element with what to do instead.
UNSUPPORTED_ATTRIBUTES: dict[str, tuple[str, str]] = {
    "assignee": ("assignee", "complaintflow routes tasks by role, not to named users; a supervisor may "
                             "reassign a task once it is open"),
    "candidateUsers": ("candidate_users", "complaintflow routes tasks by role, not to lists of users"),
    "dueDate": ("due_date", "set the task property dueAt to an expression giving an ISO date-time, "
                            "e.g. due_in(working_days=2)"),
    "followUpDate": ("follow_up_date", "there are no follow-up dates; a boundary timer can remind instead"),
    "priority": ("priority", "set the task property priority to an expression giving an integer "
                             "(default: SVIP 30, 4-5 stars 20, others 10)"),
    "initiator": ("initiator", "the variable is not set; the audit log records who started the case"),
    "candidateStarterGroups": ("starters", "who may start a case is decided by roles in complaintflow"),
    "candidateStarterUsers": ("starters", "who may start a case is decided by roles in complaintflow"),
    "resultVariable": ("result_variable", "a decision's outputs land in the case data under their own names"),
    "mapDecisionResult": ("result_variable", "a decision's outputs land in the case data under their own names"),
    "errorCodeVariable": ("error_variables", "the error code is not stored in a variable"),
    "errorMessageVariable": ("error_variables", "the error message is not stored in a variable"),
    "escalationCodeVariable": ("error_variables", "the escalation code is not stored in a variable"),
    "variableMappingClass": ("variable_mapping", "the called process gets all of the case's data and "
                                                 "returns all of its own"),
    "variableMappingDelegateExpression": ("variable_mapping", "the called process gets all of the case's data "
                                                              "and returns all of its own"),
    "formKey": ("start_form", "a case starts through the API or a message, with its data; no start form "
                              "is shown"),
    "formRef": ("start_form", "a case starts through the API or a message, with its data; no start form "
                              "is shown"),
}
UNSUPPORTED_EXTENSIONS: dict[str, tuple[str, str]] = {
    "inputOutput": ("input_output", "task data is shared by the whole case; compute values in a Python "
                                    "script task, or in the task's spiffworkflow preScript/postScript"),
    "ioMapping": ("input_output", "task data is shared by the whole case; compute values in a Python "
                                  "script task, or in the task's spiffworkflow preScript/postScript"),
    "executionListener": ("listener", "listeners do not run; put the work in a Python script task or in "
                                      "the element's spiffworkflow preScript/postScript"),
    "taskListener": ("listener", "listeners do not run; put the work in a Python script task or in the "
                                 "element's spiffworkflow preScript/postScript"),
    "executionListeners": ("listener", "listeners do not run; put the work in a Python script task or in "
                                       "the element's spiffworkflow preScript/postScript"),
    "taskListeners": ("listener", "listeners do not run; put the work in a Python script task or in the "
                                  "element's spiffworkflow preScript/postScript"),
    "in": ("variable_mapping", "the called process gets all of the case's data; in-mappings are not applied"),
    "out": ("variable_mapping", "the called process returns all of its data; out-mappings are not applied"),
    "formData": ("generated_form", "generated form fields are not converted: upload a JSON Schema form and "
                                   "name it in the task property formJsonSchemaFilename"),
    "formProperty": ("generated_form", "generated form fields are not converted: upload a JSON Schema form "
                                       "and name it in the task property formJsonSchemaFilename"),
    "potentialStarter": ("starters", "who may start a case is decided by roles in complaintflow"),
    "errorEventDefinition": ("external_task_error", "external-task error handling does not apply"),
    "subscription": ("message_correlation", "complaintflow correlates messages by case number"),
    "taskSchedule": ("due_date", "set the task property dueAt to an expression giving an ISO date-time"),
    "field": ("java_field", "Java delegate fields do not apply"),
    "connector": ("connector", "Camunda connectors do not run here"),
}

LOOP_ORDER = ("documentation", "extensionElements", "loopCardinality", "loopDataInputRef", "loopDataOutputRef",
              "inputDataItem", "outputDataItem", "complexBehaviorDefinition", "completionCondition")

# Parts of an element, never what a finding is about: it is reported on the element that holds them.
INNER_ELEMENTS = frozenset({
    "conditionExpression", "condition", "timeDate", "timeDuration", "timeCycle", "timerEventDefinition",
    "conditionalEventDefinition", "messageEventDefinition", "errorEventDefinition", "escalationEventDefinition",
    "signalEventDefinition", "multiInstanceLoopCharacteristics", "standardLoopCharacteristics", "loopCardinality",
    "completionCondition", "extensionElements", "ioSpecification", "script",
})
