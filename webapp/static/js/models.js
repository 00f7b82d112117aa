/* Process models pages: read-only BPMN diagrams of a version, with diff markers; "select all" on the
   migration preview. No inline scripts (the CSP forbids them): data comes from data- attributes. */
(function () {
  "use strict";

  var MARKERS = { added: "diff-added", removed: "diff-removed", changed: "diff-changed" };

  function readMarkers(el) {
    try { return JSON.parse(el.getAttribute("data-markers") || "{}") || {}; } catch (e) { return {}; }
  }

  function mark(viewer, markers) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    Object.keys(MARKERS).forEach(function (kind) {
      (markers[kind] || []).forEach(function (id) {
        if (registry.get(id)) { canvas.addMarker(id, MARKERS[kind]); }
      });
    });
  }

  // A large diagram fitted to its box is too small to read: zoom to the marked elements, with room around.
  function focusOnMarks(viewer, el, markers) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    if (canvas.zoom() >= 0.6) { return; }
    var box = null;
    Object.keys(MARKERS).forEach(function (kind) {
      (markers[kind] || []).forEach(function (id) {
        var shape = registry.get(id);
        if (!shape) { return; }
        var points = shape.waypoints || [{ x: shape.x, y: shape.y }, { x: shape.x + shape.width, y: shape.y + shape.height }];
        points.forEach(function (p) {
          box = box ? { x1: Math.min(box.x1, p.x), y1: Math.min(box.y1, p.y), x2: Math.max(box.x2, p.x), y2: Math.max(box.y2, p.y) }
                    : { x1: p.x, y1: p.y, x2: p.x, y2: p.y };
        });
      });
    });
    if (!box) { return; }
    var ratio = el.clientWidth / Math.max(el.clientHeight, 1);
    var width = Math.max(box.x2 - box.x1 + 200, 700);
    var height = Math.max(box.y2 - box.y1 + 160, width / ratio);
    width = Math.max(width, height * ratio);
    canvas.viewbox({ x: (box.x1 + box.x2) / 2 - width / 2, y: (box.y1 + box.y2) / 2 - height / 2, width: width, height: height });
  }

  // Which file to show first: the first one holding a marked element, else the version's own file.
  function firstDiagram(diagrams, markers) {
    var ids = [].concat(markers.added || [], markers.removed || [], markers.changed || []);
    for (var i = 0; i < diagrams.length; i++) {
      var own = diagrams[i].element_ids || [];
      for (var j = 0; j < ids.length; j++) { if (own.indexOf(ids[j]) >= 0) { return i; } }
    }
    return 0;
  }

  // A version's diagrams (static/js/diagram_tabs.js) with the diff's added, removed and changed elements.
  function showDiagram(el) {
    var markers = readMarkers(el);
    window.complaintflow.showDiagrams(el, el.getAttribute("data-model-diagram-url"), {
      diagrams: function (body) { return body.diagrams || []; },
      first: function (diagrams) { return firstDiagram(diagrams, markers); },
      shown: function (viewer) {
        mark(viewer, markers);
        focusOnMarks(viewer, el, markers);
      },
      failed: function (error) {
        // The page's translated sentence (data-failed-text) around the technical reason.
        var template = el.getAttribute("data-failed-text") || "{message}";
        return template.split("{message}").join(error && error.message ? error.message : String(error));
      }
    });
  }

  function wireSelectAll(box) {
    var form = box.closest("form");
    var name = box.getAttribute("data-select-all");
    box.addEventListener("change", function () {
      form.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (c) { c.checked = box.checked; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-model-diagram-url]").forEach(showDiagram);
    document.querySelectorAll("[data-select-all]").forEach(wireSelectAll);
  });
})();
