"""complaintflow's runtime: BPMN definitions, instances, tasks, timers and calendars.

Nothing in this package imports Flask or the web layer.
"""
