/* complaintflow UI: inbox refresh and BPMN diagrams. No inline scripts (the CSP forbids them). */
(function () {
  "use strict";

  // Refresh the inbox table every N seconds, unless the user is busy in it or the tab is hidden.
  function startInboxRefresh() {
    var table = document.getElementById("inbox-table");
    if (!table || !window.htmx) { return; }
    var seconds = parseInt(table.getAttribute("data-refresh-seconds"), 10) || 30;
    window.setInterval(function () {
      var current = document.getElementById("inbox-table");
      if (!current || document.visibilityState !== "visible") { return; }
      if (current.contains(document.activeElement) || current.querySelector("details[open]")) { return; }
      window.htmx.trigger(current, "refresh");
    }, seconds * 1000);
  }

  function mark(viewer, ids, cls) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    (ids || []).forEach(function (id) {
      if (registry.get(id)) { canvas.addMarker(id, cls); }
    });
  }

  // A large diagram fitted to the box is too small to read: zoom in around the current task.
  function focus(viewer, el, current) {
    var canvas = viewer.get("canvas");
    var shape = current && viewer.get("elementRegistry").get(current);
    if (!shape || canvas.zoom() >= 0.7) { return; }
    var scale = 0.75;
    var width = el.clientWidth / scale;
    var height = el.clientHeight / scale;
    canvas.viewbox({ x: shape.x + shape.width / 2 - width / 2, y: shape.y + shape.height / 2 - height / 2,
                     width: width, height: height });
  }

  // Which of the case's diagrams to show first: the one holding the current task, else the case's own.
  function firstDiagram(diagrams, current) {
    for (var i = 0; current && i < diagrams.length; i++) {
      if (diagrams[i].element_ids.indexOf(current) >= 0) { return i; }
    }
    return 0;
  }

  // The case's diagrams (static/js/diagram_tabs.js) with done, open and overdue elements and the current task.
  function showDiagram(el) {
    var current = el.getAttribute("data-current");
    window.complaintflow.showDiagrams(el, el.getAttribute("data-diagram-url"), {
      diagrams: function (body) {
        return body.diagrams || [{ xml: body.xml, element_ids: [], processes: [], names: {} }];
      },
      first: function (diagrams) { return firstDiagram(diagrams, current); },
      shown: function (viewer, body) {
        var h = body.highlights || {};
        mark(viewer, h.completed, "hl-completed");
        mark(viewer, h.active, "hl-active");
        mark(viewer, h.overdue, "hl-overdue");
        if (current) { mark(viewer, [current], "hl-current"); }
        focus(viewer, el, current);
      },
      failed: function (error) { return String(error); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    startInboxRefresh();
    document.querySelectorAll("[data-diagram-url]").forEach(showDiagram);
  });
})();
