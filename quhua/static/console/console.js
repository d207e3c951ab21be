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

// An entry form's input says what is wrong with its value as it is typed, by the rules
// the API applies on save to one value (a number, not below 0, whole for counts, at most
// two decimals for yuan); rules between values are checked on save. The form carries the
// messages in the page's language.
function typedProblem(input, messages) {
  const validity = input.validity;
  if (validity.badInput) {
    return messages.notNumber;
  }
  if (validity.rangeUnderflow) {
    return messages.belowZero;
  }
  if (validity.stepMismatch) {
    return input.step === "1" ? messages.notWhole : messages.tooPrecise;
  }
  return "";
}

document.addEventListener("input", (event) => {
  const input = event.target;
  const form = input instanceof HTMLInputElement ? input.closest("form.entry") : null;
  if (!form || input.type !== "number") {
    return;
  }
  const problem = typedProblem(input, form.dataset);
  let note = input.parentElement.querySelector(".error.typed");
  if (problem && !note) {
    note = document.createElement("span");
    note.className = "error typed";
    note.dataset.testid = "typed-error";
    note.setAttribute("role", "alert");
    input.after(note);
  }
  if (note) {
    note.textContent = problem;
    note.hidden = !problem;
  }
  input.setAttribute("aria-invalid", problem ? "true" : "false");
});

// Calls draw(element, data) for each element whose data-<kind> attribute names the
// script element holding the JSON it draws (once ECharts has loaded).
function eachDrawing(kind, draw) {
  for (const element of document.querySelectorAll(`[data-${kind}]`)) {
    const source = document.getElementById(element.dataset[kind]);
    if (source && window.echarts) {
      draw(element, JSON.parse(source.textContent));
    }
  }
}

// Makes an SVG plot in the element once the element has an area, gives it the options
// (a title over it; tooltips drawn as rich text in the plot, since the HTML ones style
// themselves inline, which the CSP refuses), hands the plot to then(plot), marks the
// element drawn, and keeps the plot to the element's size. ECharts cannot lay a map out in a
// box without area (its transform has no inverse), and a window can be that small for a
// moment, so such a box is passed over until it grows again.
function plotIn(element, { title, tooltip, ...options }, then) {
  let plot = null;
  new ResizeObserver(() => {
    if (element.clientWidth === 0 || element.clientHeight === 0) {
      return;
    }
    if (plot) {
      plot.resize();
      return;
    }
    plot = window.echarts.init(element, null, { renderer: "svg" });
    plot.setOption({
      animation: false,
      title: { text: title, left: "center", textStyle: { fontSize: 14 } },
      tooltip: { renderMode: "richText", ...tooltip },
      ...options,
    });
    if (then) {
      then(plot);
    }
    element.dataset.drawn = "true";
  }).observe(element);
}

// Each chart draws the JSON of the script element its data-chart names: this year's
// line against last year's, month by month.
function drawCharts() {
  eachDrawing("chart", (element, chart) => {
    plotIn(element, {
      title: chart.title,
      // This year in the console's blue, last year in a quieter grey.
      color: ["#1d4ed8", "#9aa5b1"],
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
  });
}

document.addEventListener("DOMContentLoaded", drawCharts);

// Each treemap draws the JSON its data-treemap names: areas by population, colours from
// light to dark by the figure (grey without one), a click opening the unit's dashboard.
function drawTreemaps() {
  eachDrawing("treemap", (element, map) => {
    const figures = map.nodes.map((node) => node.figure).filter((value) => value !== null);
    const low = Math.min(...figures);
    const high = Math.max(...figures);
    const shade = (value) => {
      if (value === null) {
        return "#d9e2ec";
      }
      const share = high > low ? (value - low) / (high - low) : 0.5;
      // From the console's pale red to its deep red.
      const mix = (from, to) => Math.round(from + (to - from) * share);
      return `rgb(${mix(254, 145)}, ${mix(205, 32)}, ${mix(202, 24)})`;
    };
    plotIn(element, {
      title: map.title,
      tooltip: {
        formatter: (info) =>
          `${info.name}\n${map.sizeLabel}: ${info.data.size.toLocaleString()}\n` +
          `${map.figureLabel}: ${info.data.figure === null ? map.noFigure : info.data.figure.toFixed(2)}`,
      },
      series: [
        {
          type: "treemap",
          top: 36,
          bottom: 8,
          roam: false,
          breadcrumb: { show: false },
          nodeClick: map.link ? "link" : false,
          label: { show: true, formatter: "{b}", color: "#1f2933" },
          data: map.nodes.map((node) => ({
            name: node.name,
            value: node.size,
            size: node.size,
            figure: node.figure,
            link: map.link ? map.link[0] + node.code + map.link[1] : undefined,
            target: "self",
            itemStyle: { color: shade(node.figure) },
          })),
        },
      ],
    });
  });
}

document.addEventListener("DOMContentLoaded", drawTreemaps);

// Each map fetches the boundaries its data-map's JSON names (from this app), registers
// them under its key, and colours each unit by its figure; a click opens the unit.
function drawMaps() {
  eachDrawing("map", (element, map) => {
    fetch(map.source, { credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((shapes) => {
        window.echarts.registerMap(map.key, shapes);
        const figures = map.nodes.map((node) => node.figure).filter((value) => value !== null);
        plotIn(
          element,
          {
            title: map.title,
            tooltip: {
              formatter: (info) =>
                `${info.data ? info.data.unitName : info.name}: ` +
                `${info.data && info.data.value !== null ? info.data.value.toFixed(2) : map.noFigure}`,
            },
            visualMap: {
              min: figures.length ? Math.min(...figures) : 0,
              max: figures.length ? Math.max(...figures) : 1,
              calculable: true,
              left: 8,
              bottom: 8,
              inRange: { color: ["#fecdca", "#912018"] },
            },
            series: [
              {
                type: "map",
                map: map.key,
                nameProperty: "code",
                roam: false,
                label: { show: false },
                itemStyle: { areaColor: "#d9e2ec", borderColor: "#ffffff" },
                data: map.nodes.map((node) => ({
                  name: node.code,
                  unitName: node.name,
                  value: node.figure,
                })),
              },
            ],
          },
          (plot) => {
            if (map.link) {
              plot.on("click", (info) => {
                window.location.assign(map.link[0] + info.name + map.link[1]);
              });
            }
          },
        );
      })
      .catch((status) => {
        element.dataset.failed = String(status);
      });
  });
}

document.addEventListener("DOMContentLoaded", drawMaps);
