// The console's behaviour, loaded from this app: no inline script or handler, no eval
// (the pages' Content-Security-Policy allows neither).
"use strict";

// The period picker shows the quarter or the month select for the kind chosen (Alpine's
// CSP build: components are registered here, templates name their properties).
document.addEventListener("alpine:init", () => {
  window.Alpine.data("periodPicker", () => ({
    kind: "year",
    init() {
      this.kind = this.$el.dataset.kind || "year";
    },
    get isQuarter() {
      return this.kind === "quarter";
    },
    get isMonth() {
      return this.kind === "month";
    },
  }));
});

// A select marked data-autosubmit submits its form when it changes.
document.addEventListener("change", (event) => {
  const target = event.target;
  if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit")) {
    target.form.requestSubmit();
  }
});

// Each chart draws the JSON of the script element its data-chart names: this year's
// line against last year's, month by month.
function drawCharts() {
  for (const element of document.querySelectorAll("[data-chart]")) {
    const source = document.getElementById(element.dataset.chart);
    if (!source || !window.echarts) {
      continue;
    }
    const chart = JSON.parse(source.textContent);
    const plot = window.echarts.init(element, null, { renderer: "svg" });
    plot.setOption({
      animation: false,
      // This year in the console's blue, last year in a quieter grey.
      color: ["#1d4ed8", "#9aa5b1"],
      title: { text: chart.title, left: "center", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis" },
      legend: { bottom: 0, data: chart.names },
      grid: { left: 48, right: 24, top: 40, bottom: 48 },
      xAxis: { type: "category", name: chart.monthLabel, data: chart.months },
      yAxis: { type: "value", scale: true, name: chart.unit },
      series: chart.series.map((line, index) => ({
        name: chart.names[index],
        type: "line",
        data: line.values,
        connectNulls: false,
        lineStyle: index === 0 ? { width: 3 } : { width: 2, type: "dashed" },
      })),
    });
    element.dataset.drawn = "true";
    window.addEventListener("resize", () => plot.resize());
  }
}

document.addEventListener("DOMContentLoaded", drawCharts);
