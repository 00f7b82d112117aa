/* complaintflow UI: the escalation desk's breach-rate charts (Chart.js), drawn from the panel's JSON block.
   No inline scripts (the CSP forbids them); redrawn after each htmx refresh of the panel. */
(function () {
  "use strict";

  var charts = [];

  function draw() {
    var source = document.getElementById("desk-chart-data");
    if (!source || !window.Chart) { return; }
    var data;
    try { data = JSON.parse(source.textContent); } catch (e) { return; }
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    (data.periods || []).forEach(function (period) {
      var canvas = document.getElementById("chart-" + period.key);
      if (!canvas) { return; }
      var rows = period.rows || [];
      canvas.parentNode.setAttribute("data-empty", rows.length ? "false" : "true");
      if (!rows.length) { return; }
      charts.push(new window.Chart(canvas, {
        type: "bar",
        data: {
          labels: rows.map(function (r) { return r.policy; }),
          datasets: [
            { label: data.labels.breached, data: rows.map(function (r) { return r.breached; }),
              backgroundColor: "#d9534f", stack: "n" },
            { label: data.labels.met, data: rows.map(function (r) { return r.total - r.breached; }),
              backgroundColor: "#5cb85c", stack: "n" }
          ]
        },
        options: {
          indexAxis: "y", responsive: true, maintainAspectRatio: false, animation: false,
          scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }, y: { stacked: true } },
          plugins: {
            legend: { position: "bottom" },
            tooltip: { callbacks: { footer: function (items) {
              var r = rows[items[0].dataIndex];
              return data.labels.rate + ": " + Math.round(r.rate * 100) + "%";
            } } }
          }
        }
      }));
    });
    document.body.setAttribute("data-charts", String(charts.length));
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.target && event.target.id === "desk-panel") { draw(); }
  });
})();
