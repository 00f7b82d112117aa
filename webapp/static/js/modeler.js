/* The model editors' page glue: BPMN (vendor/modeler bundle), DMN (vendored dmn-js) and forms.
   Validate / Deploy post {"files": [{filename, content}]} to the server and pin each finding on its
   element (an overlay and a marker class) and in a list. Data comes from #modeler-data (no inline scripts). */
(function () {
  "use strict";

  var dataBlock = document.getElementById("modeler-data");
  var root = document.querySelector("[data-editor]");
  if (!dataBlock || !root) { return; }
  var data = JSON.parse(dataBlock.textContent);
  var texts = data.messages || {};
  var csrfMeta = document.querySelector("meta[name=csrf-token]");
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var isNew = Boolean(data["new"]);
  var dirty = false;

  function say(key, values) {
    var text = texts[key] || key;
    Object.keys(values || {}).forEach(function (name) { text = text.split("{" + name + "}").join(String(values[name])); });
    return text;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function setStatus(state, text) {
    var status = document.getElementById("editor-status");
    status.setAttribute("data-state", state);
    status.textContent = text;
  }

  function filename() {
    var input = document.getElementById("editor-filename");
    return input ? input.value.trim() : data.filename;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        return { status: response.status, body: json };
      });
    });
  }

  function errorText(body, status) {
    var error = (body && body.error) || {};
    var message = error.message || ("HTTP " + status);
    var fields = error.fields || {};
    var names = Object.keys(fields);
    if (names.length) {
      message += " (" + names.map(function (n) { return n + ": " + fields[n]; }).join("; ") + ")";
    }
    return message;
  }

  // dmn-js's English texts -> the page's language (the same table the BPMN bundle gets; {name} placeholders kept).
  function translateModule(table) {
    function translate(template, replacements) {
      var text = table[template] || template;
      return text.replace(/{([^}]+)}/g, function (match, key) {
        return replacements && key in replacements ? replacements[key] : match;
      });
    }
    return { translate: ["value", translate] };
  }

  // --- the three editors: content, markers, focus -------------------------------------------------------

  function bpmnEditor() {
    var modeler = window.CfBpmnEditor.create({
      container: document.getElementById("editor-canvas"),
      propertiesParent: document.getElementById("editor-properties"),
      data: data
    });
    window.cfModeler = modeler;  // the browser tests drive bpmn-js through its API
    var marked = [];
    var ready = modeler.importXML(data.xml).then(function (result) {
      modeler.get("canvas").zoom("fit-viewport", "auto");
      root.setAttribute("data-ready", "true");
      if (result.warnings && result.warnings.length) { root.setAttribute("data-import-warnings", String(result.warnings.length)); }
      modeler.on("commandStack.changed", function () { dirty = true; });
    }).catch(function (error) {
      root.setAttribute("data-ready", "error");
      setStatus("error", say("load_failed", { message: error.message }));
    });
    return {
      ready: ready,
      content: function () { return modeler.saveXML({ format: true }).then(function (r) { return r.xml; }); },
      clear: function () {
        var canvas = modeler.get("canvas");
        modeler.get("overlays").remove({ type: "cf-finding" });
        marked.forEach(function (m) { canvas.removeMarker(m[0], m[1]); });
        marked = [];
      },
      mark: function (finding) {
        var registry = modeler.get("elementRegistry");
        var shape = finding.element_id && registry.get(finding.element_id);
        if (!shape || shape.type === "label") { return false; }
        var cls = finding.severity === "warning" ? "cf-marker-warning" : "cf-marker-error";
        modeler.get("canvas").addMarker(shape, cls);
        marked.push([shape, cls]);
        var badge = el("span", "cf-finding-badge " + cls, "!");
        badge.setAttribute("data-element-id", finding.element_id);
        badge.title = finding.message;
        var isEdge = Boolean(shape.waypoints);
        modeler.get("overlays").add(shape, "cf-finding", {
          position: isEdge ? { top: -10, left: -10 } : { top: -10, right: 10 },
          html: badge
        });
        return true;
      },
      focus: function (finding) {
        var shape = modeler.get("elementRegistry").get(finding.element_id);
        if (!shape) { return; }
        modeler.get("selection").select(shape);
        modeler.get("canvas").scrollToElement(shape, { top: 120, bottom: 120, left: 200, right: 200 });
      },
      download: function () { return this.content(); }
    };
  }

  function dmnEditor() {
    // dmn-js takes additionalModules per view type only (its "common" ones are dropped).
    var translated = { additionalModules: [translateModule(data.translations || {})] };
    var modeler = new window.DmnJS({
      container: document.getElementById("editor-canvas"), common: { keyboard: { bindTo: window } },
      drd: translated, decisionTable: translated, literalExpression: translated, boxedExpression: translated
    });
    window.cfDmnModeler = modeler;
    var nav = document.getElementById("dmn-views");

    function showViews() {
      nav.textContent = "";
      var active = modeler.getActiveView();
      modeler.getViews().forEach(function (view) {
        var kind = (data.view_names || {})[view.type] || view.type;
        var button = el("button", "dmn-view-tab", (view.element.name || view.element.id) + " · " + kind);
        button.type = "button";
        button.setAttribute("data-view-id", view.element.id);
        button.setAttribute("aria-pressed", String(active && active.element === view.element && active.type === view.type));
        button.addEventListener("click", function () { modeler.open(view); });
        nav.appendChild(button);
      });
    }

    modeler.on("views.changed", showViews);
    var ready = modeler.importXML(data.xml).then(function () {
      var table = modeler.getViews().filter(function (v) { return v.type === "decisionTable"; })[0];
      return table ? modeler.open(table) : null;
    }).then(function () {
      showViews();
      root.setAttribute("data-ready", "true");
      var viewer = modeler.getActiveViewer();
      if (viewer) { viewer.on("elements.changed", function () { dirty = true; }); }
      modeler.on("views.changed", function () {
        var active = modeler.getActiveViewer();
        if (active) { active.on("elements.changed", function () { dirty = true; }); }
      });
    }).catch(function (error) {
      root.setAttribute("data-ready", "error");
      setStatus("error", say("load_failed", { message: error.message }));
    });
    return {
      ready: ready,
      content: function () { return modeler.saveXML({ format: true }).then(function (r) { return r.xml; }); },
      clear: function () {},
      mark: function () { return false; },
      focus: function (finding) {
        var view = modeler.getViews().filter(function (v) { return v.element.id === finding.element_id; })[0];
        if (view) { modeler.open(view); }
      },
      download: function () { return this.content(); }
    };
  }

  function formEditor() {
    var textarea = document.getElementById("form-schema");
    textarea.addEventListener("input", function () { dirty = true; });
    root.setAttribute("data-ready", "true");
    return {
      ready: Promise.resolve(),
      content: function () { return Promise.resolve(textarea.value); },
      clear: function () {},
      mark: function () { return false; },
      focus: function (finding) {
        textarea.focus();
        if (finding.line) {
          var lines = textarea.value.split("\n");
          var start = lines.slice(0, finding.line - 1).join("\n").length + (finding.line > 1 ? 1 : 0);
          textarea.setSelectionRange(start, start + (lines[finding.line - 1] || "").length);
        }
      },
      download: function () { return this.content(); }
    };
  }

  // --- findings and results ---------------------------------------------------------------------------

  // "findings" when something blocks a deploy, "warnings" when all can wait, "clean" when there is nothing.
  function findingState(problems) {
    if (!problems.length) { return "clean"; }
    return problems.some(function (p) { return p.severity !== "warning"; }) ? "findings" : "warnings";
  }

  function showFindings(editor, problems) {
    var list = document.getElementById("editor-findings");
    list.textContent = "";
    editor.clear();
    var name = filename();
    (problems || []).forEach(function (finding) {
      var item = el("li", "finding finding-" + (finding.severity || "error"));
      var own = !finding.file || finding.file === name;
      var pinned = own && editor.mark(finding);
      item.setAttribute("data-element-id", finding.element_id || "");
      item.appendChild(el("span", "badge " + (finding.severity === "warning" ? "badge-warn" : "badge-red"),
        say(finding.severity === "warning" ? "warning" : "error")));
      if (finding.rule) { item.appendChild(el("span", "finding-rule mono", finding.rule)); }
      if (finding.element_id) { item.appendChild(el("span", "finding-element mono", finding.element_id)); }
      item.appendChild(el("span", "finding-message", finding.message));
      var where = [];
      if (!own && finding.file) { where.push(say("other_file", { file: finding.file })); }
      if (finding.line) { where.push(say("line") + " " + finding.line); }
      if (where.length) { item.appendChild(el("span", "finding-where muted", where.join(" · "))); }
      if (own && (pinned || finding.element_id || finding.line)) {
        item.classList.add("finding-link");
        item.tabIndex = 0;
        item.setAttribute("role", "button");
        var go = function () { editor.focus(finding); };
        item.addEventListener("click", go);
        item.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); go(); } });
      }
      list.appendChild(item);
    });
  }

  function showResult(kind, build) {
    var box = document.getElementById("editor-result");
    box.textContent = "";
    box.className = "editor-result flash " + (kind === "ok" ? "flash-success" : "flash-error");
    build(box);
    box.hidden = false;
  }

  function hideResult() { document.getElementById("editor-result").hidden = true; }

  function files(content) { return { files: [{ filename: filename(), content: content }], "new": isNew }; }

  function withName(editor, then) {
    if (!filename()) { setStatus("error", say("filename_needed")); return; }
    editor.content().then(then);
  }

  function validate(editor) {
    withName(editor, function (content) {
      setStatus("busy", say("validating"));
      hideResult();
      post(data.urls.validate, files(content)).then(function (answer) {
        if (answer.status !== 200) {
          setStatus("error", say("failed", { message: errorText(answer.body, answer.status) }));
          return;
        }
        var problems = answer.body.problems || [];
        showFindings(editor, problems);
        setStatus(findingState(problems), problems.length ? say("findings", { n: problems.length }) : say("no_findings"));
      }).catch(function (error) { setStatus("error", say("failed", { message: error.message })); });
    });
  }

  function deploy(editor) {
    withName(editor, function (content) {
      setStatus("busy", say("deploying"));
      hideResult();
      post(data.urls.deploy, files(content)).then(function (answer) {
        var body = answer.body || {};
        if (answer.status === 200) {
          dirty = false;
          isNew = false;
          var input = document.getElementById("editor-filename");
          if (input) { input.readOnly = true; }
          showFindings(editor, body.problems || body.warnings || []);
          setStatus("deployed", say("deployed"));
          showResult("ok", function (box) {
            box.appendChild(el("strong", null, say("deployed")));
            var list = el("ul", "deployed-list");
            (body.definitions || []).forEach(function (d) {
              var item = el("li", d.created ? "deployed-new" : "deployed-same");
              item.setAttribute("data-process-id", d.process_id);
              item.setAttribute("data-version", String(d.version));
              item.appendChild(el("span", "mono", d.process_id));
              item.appendChild(document.createTextNode(" " + (d.name || "") + " — "));
              item.appendChild(el(d.created ? "strong" : "span", null,
                say(d.created ? "new_version" : "unchanged", { version: d.version })));
              list.appendChild(item);
            });
            box.appendChild(list);
            var link = el("a", null, say("to_models"));
            link.href = data.urls.models;
            box.appendChild(link);
          });
          return;
        }
        var error = body.error || {};
        if (answer.status === 422 && error.problems) {
          showFindings(editor, error.problems);
          setStatus("findings", say("findings", { n: error.problems.length }));
          showResult("error", function (box) { box.appendChild(el("strong", null, say("deploy_refused"))); });
          return;
        }
        setStatus("error", say("failed", { message: errorText(body, answer.status) }));
      }).catch(function (error) { setStatus("error", say("failed", { message: error.message })); });
    });
  }

  function download(editor) {
    editor.download().then(function (content) {
      var type = root.getAttribute("data-editor") === "form" ? "application/json" : "application/xml";
      var url = URL.createObjectURL(new Blob([content], { type: type + ";charset=utf-8" }));
      var link = el("a");
      link.href = url;
      link.download = filename() || "model";
      document.body.appendChild(link);
      link.click();
      link.remove();
      window.setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
    });
  }

  function start() {
    var kind = root.getAttribute("data-editor");
    var editor = kind === "bpmn" ? bpmnEditor() : kind === "dmn" ? dmnEditor() : formEditor();
    window.cfEditor = editor;
    document.getElementById("editor-validate").addEventListener("click", function () { validate(editor); });
    document.getElementById("editor-deploy").addEventListener("click", function () { deploy(editor); });
    document.getElementById("editor-download").addEventListener("click", function () { download(editor); });
    window.addEventListener("beforeunload", function (event) {
      if (dirty) { event.preventDefault(); event.returnValue = say("unsaved"); }
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
}());
