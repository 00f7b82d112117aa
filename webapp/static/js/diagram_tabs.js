/* The BPMN diagram viewer with one tab per file, shared by the case and task pages (app.js) and the
   process models pages (models.js). Load it with the vendored bpmn-js viewer (_diagram_head.html).
   No inline scripts (the CSP forbids them). */
(function () {
  "use strict";

  function tabButton(diagram, onClick) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "diagram-tab";
    button.setAttribute("role", "tab");
    var pid = diagram.processes && diagram.processes[0];
    button.textContent = (diagram.names && pid && diagram.names[pid]) || diagram.filename;
    button.addEventListener("click", onClick);
    return button;
  }

  /* Fetch the diagrams behind url and draw them in el, with a tab per file in the .diagram-tabs beside it.
     options.diagrams(body): the files of the answer ({xml, filename, processes, names, element_ids});
     options.first(diagrams): the index shown first;
     options.shown(viewer, body): the page's own marks and zoom, after each file is drawn and fitted;
     options.failed(error): the text shown when the diagram cannot be drawn.
     el's data-ready says loading, true or error; data-shown names the file on show (for tests). */
  function showDiagrams(el, url, options) {
    if (!window.BpmnJS) { el.setAttribute("data-ready", "error"); return; }
    var tabs = el.parentNode.querySelector(".diagram-tabs");
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (body) {
        var diagrams = options.diagrams(body);
        if (!diagrams.length) { throw new Error("no diagram"); }
        var viewer = new window.BpmnJS({ container: el });
        function open(index) {
          el.setAttribute("data-ready", "loading");
          return viewer.importXML(diagrams[index].xml).then(function () {
            viewer.get("canvas").zoom("fit-viewport", "auto");
            options.shown(viewer, body);
            el.setAttribute("data-ready", "true");
            el.setAttribute("data-shown", diagrams[index].filename || "");
            if (tabs) {
              tabs.querySelectorAll("button").forEach(function (b, i) { b.setAttribute("aria-selected", String(i === index)); });
            }
          });
        }
        if (tabs && diagrams.length > 1) {
          diagrams.forEach(function (d, i) { tabs.appendChild(tabButton(d, function () { open(i); })); });
        }
        return open(options.first(diagrams));
      })
      .catch(function (error) {
        el.setAttribute("data-ready", "error");
        el.textContent = options.failed(error);
      });
  }

  window.complaintflow = window.complaintflow || {};
  window.complaintflow.showDiagrams = showDiagrams;
})();
