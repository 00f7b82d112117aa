/* complaintflow UI: the reports' charts (Chart.js), drawn from the page's JSON block #reports-chart-data.
   No inline scripts (the CSP forbids them). Each chart spec: {id, type: line|bar|doughnut, unit: "%"|"h"|"",
   horizontal, labels, datasets: [{label, data, links, emphasis, muted}]}; clicking a point or bar opens
   the cases behind it (its link). */
(function () {
  "use strict";

  var PALETTE = ["#22609e", "#d9822b", "#2c6e45", "#b42318", "#7a4fb3", "#0f8b8d", "#8a5300", "#5b6b7c",
                 "#c2417a", "#4c8c2b"];
  var charts = [];

  function color(index, dataset) {
    if (dataset.muted) { return index === 1 ? "#aab4c0" : "#d4dae1"; }
    return PALETTE[index % PALETTE.length];
  }

  function formatter(unit, hours) {
    return function (value) {
      if (value === null || value === undefined) { return "—"; }
      if (unit === "%") { return value + "%"; }
      if (unit === "h") { return value + " " + (hours || "h"); }
      return String(value);
    };
  }

  function datasetsOf(spec) {
    return spec.datasets.map(function (d, i) {
      var c = color(i, d);
      var base = { label: d.label, data: d.data, links: d.links || [] };
      if (spec.type === "doughnut") {
        base.backgroundColor = d.data.map(function (_v, j) { return PALETTE[j % PALETTE.length]; });
        return base;
      }
      base.backgroundColor = c;
      base.borderColor = c;
      if (spec.type === "line") {
        base.borderWidth = d.emphasis ? 3 : 1.5;
        base.pointRadius = d.emphasis ? 3 : 2;
        base.spanGaps = true;
        base.fill = false;
      }
      return base;
    });
  }

  function linkOf(chart, elements) {
    if (!elements || !elements.length) { return null; }
    var dataset = chart.data.datasets[elements[0].datasetIndex];
    return (dataset.links || [])[elements[0].index] || null;
  }

  function draw() {
    var source = document.getElementById("reports-chart-data");
    if (!source || !window.Chart) { return; }
    var data;
    try { data = JSON.parse(source.textContent); } catch (e) { return; }
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    var texts = data.texts || {};
    (data.charts || []).forEach(function (spec) {
      var canvas = document.getElementById(spec.id);
      if (!canvas) { return; }
      var box = canvas.parentNode;
      var hasData = spec.datasets.some(function (d) {
        return d.data.some(function (v) { return v !== null && v !== 0; });
      });
      box.setAttribute("data-empty", hasData ? "false" : "true");
      box.setAttribute("data-empty-text", texts.empty || "");
      if (!hasData) { return; }
      var fmt = formatter(spec.unit || "", texts.hours);
      var scales = {};
      if (spec.type !== "doughnut") {
        var valueAxis = spec.horizontal ? "x" : "y";
        scales[valueAxis] = { beginAtZero: true, ticks: { callback: fmt } };
        if (spec.unit === "%") { scales[valueAxis].suggestedMax = 100; }
        if (!spec.unit) { scales[valueAxis].ticks.precision = 0; }
      }
      var chart = new window.Chart(canvas, {
        type: spec.type,
        data: { labels: spec.labels, datasets: datasetsOf(spec) },
        options: {
          responsive: true, maintainAspectRatio: false, animation: false,
          indexAxis: spec.horizontal ? "y" : "x",
          scales: scales,
          plugins: {
            legend: { position: "bottom", display: spec.datasets.length > 1 || spec.type === "doughnut" },
            tooltip: { callbacks: {
              label: function (item) {
                var name = spec.type === "doughnut" ? item.label : item.dataset.label;
                return name + ": " + fmt(item.raw);
              },
              footer: function (items) {
                var link = items.length && (items[0].dataset.links || [])[items[0].dataIndex];
                return link ? texts.open : "";
              }
            } }
          },
          onHover: function (event, elements, chart) {
            var link = linkOf(chart, elements);
            if (event.native) { event.native.target.style.cursor = link ? "pointer" : "default"; }
          },
          onClick: function (_event, elements, chart) {
            var link = linkOf(chart, elements);
            if (link) { window.location.assign(link); }
          }
        }
      });
      charts.push(chart);
    });
    document.body.setAttribute("data-charts", String(charts.length));
  }

  document.addEventListener("DOMContentLoaded", draw);
})();
