// Charts: uPlot line charts, a viridis colour scale, and the MAP-Elites heatmap.
"use strict";

const PALETTE = ["#4269d0", "#efb118", "#ff725c", "#6cc5b0", "#3ca951", "#ff8ab7", "#a463f2", "#97bbf5", "#9c6b4e", "#9498a0"];
EV.palette = (i) => PALETTE[i % PALETTE.length];

// Viridis, sampled: t in [0, 1] -> colour.
const VIRIDIS = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725"];
EV.viridis = function viridis(t) {
  if (t === null || t === undefined || !isFinite(t)) return "#bbbbbb";
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.floor(x);
  const j = Math.min(VIRIDIS.length - 1, i + 1);
  const f = x - i;
  const a = parseInt(VIRIDIS[i].slice(1), 16);
  const b = parseInt(VIRIDIS[j].slice(1), 16);
  const mix = (sh) => Math.round(((a >> sh) & 255) * (1 - f) + ((b >> sh) & 255) * f);
  return "rgb(" + mix(16) + "," + mix(8) + "," + mix(0) + ")";
};

const finite = (v) => (typeof v === "number" && isFinite(v) ? v : null);

// A line chart: EV.lineChart(container, {title, x, xLabel, series: [{label, values, dash}], yLabel, logY})
EV.lineChart = function lineChart(container, spec) {
  const box = EV.h("div", { class: "chart" }, EV.h("h3", {}, spec.title));
  container.appendChild(box);
  if (!spec.x.length) {
    box.appendChild(EV.note("no data yet"));
    return null;
  }
  const width = Math.max(320, Math.min(box.clientWidth || 560, 900) - 8);
  const data = [spec.x.map((v) => finite(v))];
  const series = [{ label: spec.xLabel }];
  spec.series.forEach((s, i) => {
    data.push(s.values.map(finite));
    series.push({
      label: s.label,
      stroke: s.color || EV.palette(i),
      width: s.width || 1.5,
      dash: s.dash,
      spanGaps: s.spanGaps !== false,
      points: { show: s.points || false, size: 4 },
    });
  });
  const opts = {
    width,
    height: spec.height || 240,
    series,
    scales: { x: { time: false } },
    axes: [
      { label: spec.xLabel, size: 40 },
      { label: spec.yLabel || "", size: 60 },
    ],
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
  };
  const plot = new uPlot(opts, data, box);
  EV.onCleanup(() => plot.destroy());
  return plot;
};

// MAP-Elites: a grid of cells coloured by their elite's score; a click opens the elite.
EV.heatmap = function heatmap(container, spec) {
  const { nx, ny, cells, xLabel, yLabel } = spec;
  const values = cells.map((c) => c.value).filter((v) => typeof v === "number");
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const grid = EV.h("div", { class: "heatmap" });
  grid.style.gridTemplateColumns = "repeat(" + nx + ", 1fr)";
  const byKey = new Map(cells.map((c) => [c.x + "," + c.y, c]));
  for (let y = ny - 1; y >= 0; y--) {
    for (let x = 0; x < nx; x++) {
      const c = byKey.get(x + "," + y);
      const cell = EV.h("div", { class: c ? "hcell filled" : "hcell", title: c ? c.title : xLabel + " " + x + ", " + yLabel + " " + y + ": empty" });
      if (c) {
        cell.style.background = EV.viridis(hi > lo ? (c.value - lo) / (hi - lo) : 1);
        cell.dataset.program = String(c.program);
        cell.addEventListener("click", () => (location.hash = "#/p/" + Number(c.program)));
      }
      grid.appendChild(cell);
    }
  }
  container.appendChild(
    EV.h(
      "div",
      { class: "heatwrap" },
      EV.h("div", { class: "axis y" }, yLabel + " ↑"),
      grid,
      EV.h("div", { class: "axis x" }, xLabel + " →"),
      EV.h("div", { class: "legend" }, "score " + EV.num(lo) + " ", EV.h("span", { class: "ramp" }), " " + EV.num(hi))
    )
  );
};

// CVT cells: centres in the first two descriptor dimensions, as clickable dots (SVG).
EV.scatterCells = function scatterCells(container, spec) {
  const NS = "http://www.w3.org/2000/svg";
  const w = 520;
  const hgt = 360;
  const pad = 36;
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", "0 0 " + w + " " + hgt);
  svg.setAttribute("class", "cvt");
  const xs = spec.points.map((p) => p.x);
  const ys = spec.points.map((p) => p.y);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const sx = (v) => pad + ((v - x0) / (x1 - x0 || 1)) * (w - 2 * pad);
  const sy = (v) => hgt - pad - ((v - y0) / (y1 - y0 || 1)) * (hgt - 2 * pad);
  const values = spec.points.map((p) => p.value).filter((v) => typeof v === "number");
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  for (const p of spec.points) {
    const dot = document.createElementNS(NS, "circle");
    dot.setAttribute("cx", sx(p.x));
    dot.setAttribute("cy", sy(p.y));
    dot.setAttribute("r", p.program ? 7 : 4);
    dot.setAttribute("fill", p.program ? EV.viridis(hi > lo ? (p.value - lo) / (hi - lo) : 1) : "#dddddd");
    const title = document.createElementNS(NS, "title");
    title.textContent = p.title;
    dot.appendChild(title);
    if (p.program) {
      dot.setAttribute("class", "filled");
      dot.dataset.program = String(p.program);
      dot.addEventListener("click", () => (location.hash = "#/p/" + Number(p.program)));
    }
    svg.appendChild(dot);
  }
  container.appendChild(EV.h("div", { class: "heatwrap" }, svg, EV.h("div", { class: "axis x" }, spec.xLabel + " → / " + spec.yLabel + " ↑")));
};
