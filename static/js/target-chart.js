/* The target page's chart: quarterly figures, the plan line and the year-end
   estimate. Data comes from the page's <script type="application/json"
   id="chart-data"> (Django's json_script); no inline script, so a strict CSP holds. */
(function () {
  "use strict";
  var source = document.getElementById("chart-data");
  var canvas = document.getElementById("target-chart");
  if (!source || !canvas || typeof Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var number = new Intl.NumberFormat("vi-VN", { maximumFractionDigits: 2 });
  var toNumber = function (v) { return v === null ? null : Number(v); };
  var values = data.values.map(toNumber);
  var target = Number(data.target);
  var last = values.length - 1;

  // The estimate runs from the last known point to the end of the window.
  var forecast = values.map(function () { return null; });
  if (data.forecast !== null) {
    var known = -1;
    values.forEach(function (v, i) { if (v !== null) { known = i; } });
    if (known >= 0 && known < last) {
      forecast[known] = values[known];
      forecast[last] = Number(data.forecast);
    }
  }

  var datasets = [];
  if (data.quarterly) {
    datasets.push({
      type: "bar",
      label: "Thực hiện trong quý",
      data: data.quarterly.map(toNumber),
      backgroundColor: "rgba(13, 110, 253, 0.35)",
      borderColor: "#0d6efd",
      borderWidth: 1,
      order: 3
    });
  }
  datasets.push({
    type: "line",
    label: data.valueLabel,
    data: values,
    borderColor: "#0d6efd",
    backgroundColor: "#0d6efd",
    pointStyle: "circle",
    pointRadius: 4,
    spanGaps: true,
    order: 1
  });
  datasets.push({
    type: "line",
    label: "Kế hoạch",
    data: values.map(function () { return target; }),
    borderColor: "#dc3545",
    borderWidth: 2,
    pointRadius: 0,
    order: 2
  });
  if (data.forecast !== null) {
    datasets.push({
      type: "line",
      label: "Ước thực hiện",
      data: forecast,
      borderColor: "#6c757d",
      borderDash: [6, 4],
      pointStyle: "triangle",
      pointRadius: 5,
      spanGaps: true,
      order: 0
    });
  }

  window.targetChart = new Chart(canvas, {
    type: "line",
    data: { labels: data.labels, datasets: datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      scales: {
        y: {
          beginAtZero: data.quarterly !== null,
          title: { display: true, text: data.unit },
          ticks: { callback: function (v) { return number.format(v); } }
        }
      },
      plugins: {
        legend: {
          position: "bottom",
          labels: { sort: function (a, b) { return a.datasetIndex - b.datasetIndex; } }
        },
        tooltip: {
          callbacks: {
            label: function (ctx) {
              if (ctx.parsed.y === null) { return null; }
              return ctx.dataset.label + ": " + number.format(ctx.parsed.y) + " " + data.unit;
            }
          }
        }
      }
    }
  });
}());
