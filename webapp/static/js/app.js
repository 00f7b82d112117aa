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

  function showDiagram(el) {
    if (!window.BpmnJS) { el.setAttribute("data-ready", "error"); return; }
    var tabs = el.parentNode.querySelector(".diagram-tabs");
    var current = el.getAttribute("data-current");
    var viewer = null;
    fetch(el.getAttribute("data-diagram-url"), { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (body) {
        var diagrams = body.diagrams || [{ xml: body.xml, element_ids: [], processes: [], names: {} }];
        viewer = new window.BpmnJS({ container: el });
        function open(index) {
          el.setAttribute("data-ready", "loading");
          return viewer.importXML(diagrams[index].xml).then(function () {
            var h = body.highlights || {};
            mark(viewer, h.completed, "hl-completed");
            mark(viewer, h.active, "hl-active");
            mark(viewer, h.overdue, "hl-overdue");
            if (current) { mark(viewer, [current], "hl-current"); }
            var canvas = viewer.get("canvas");
            canvas.zoom("fit-viewport", "auto");
            focus(viewer, el, current);
            el.setAttribute("data-ready", "true");
            el.setAttribute("data-shown", diagrams[index].filename || "");
            if (tabs) {
              tabs.querySelectorAll("button").forEach(function (b, i) { b.setAttribute("aria-selected", String(i === index)); });
            }
          });
        }
        if (tabs && diagrams.length > 1) {
          diagrams.forEach(function (d, i) {
            var button = document.createElement("button");
            button.type = "button";
            button.className = "diagram-tab";
            button.setAttribute("role", "tab");
            var pid = d.processes && d.processes[0];
            button.textContent = (d.names && pid && d.names[pid]) || d.filename;
            button.addEventListener("click", function () { open(i); });
            tabs.appendChild(button);
          });
        }
        return open(firstDiagram(diagrams, current));
      })
      .catch(function (error) {
        el.setAttribute("data-ready", "error");
        el.textContent = String(error);
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    startInboxRefresh();
    document.querySelectorAll("[data-diagram-url]").forEach(showDiagram);
  });
})();
