// Lineage: the ancestry of the top-k programs as a DAG (cytoscape.js on canvas).
// Layout: a tidy tree (d3-hierarchy) over each node's first parent; second parents of
// crossover children are extra dashed edges. Click a node to open its program;
// right-click to fetch its parents and children (on-demand expansion).
"use strict";

EV.views.lineage = async function lineage(main, cid) {
  const h = EV.h;
  const k = Number(new URLSearchParams(location.hash.split("?")[1] || "").get("k") || 10);
  const path = "/api/c/" + cid + "/lineage?k=" + k + "&limit=1000";
  const [s, g] = await Promise.all([EV.loadSummary(cid), EV.api(path)]);
  const nodes = new Map(g.nodes.map((n) => [n.id, n]));
  const top = new Set(g.top);

  const filters = { island: h("select", { id: "f-island" }), operator: h("select", { id: "f-operator" }), model: h("select", { id: "f-model" }) };
  const info = h("div", { class: "node-info", id: "node-info" }, "Hover a node for details. Click opens the program; right-click expands its parents and children.");
  const box = h("div", { id: "cy", class: "cy" });
  const kPick = h("select", { id: "k-pick" }, [1, 5, 10, 25, 50].map((v) => h("option", { value: String(v), selected: v === k ? "selected" : null }, "top " + v)));
  kPick.addEventListener("change", () => (location.hash = "#/c/" + cid + "/lineage?k=" + kPick.value));
  const fit = h("button", { id: "fit", type: "button" }, "fit");
  main.appendChild(
    h(
      "div",
      { class: "chead" },
      h("h1", {}, s.name + " · lineage"),
      h("span", { class: "sub" }, g.nodes.length + " programs: the ancestry of the best " + g.top.length + (g.truncated ? " (cut at " + g.limit + "; right-click a node marked ⊕ for more)" : ""))
    )
  );
  main.appendChild(
    h(
      "div",
      { class: "toolbar" },
      kPick,
      h("label", {}, "island ", filters.island),
      h("label", {}, "operator ", filters.operator),
      h("label", {}, "model ", filters.model),
      fit,
      h("span", { class: "legend-line" }, "colour: score (viridis, yellow best) · ■ seed · red border: failed · dashed: evicted/out of play · hollow: missing · ⊕ more ancestors")
    )
  );
  main.appendChild(h("div", { class: "lineage" }, box, info));

  function fillFilters() {
    const values = { island: new Set(), operator: new Set(), model: new Set() };
    for (const n of nodes.values()) {
      if (n.island !== null && n.island !== undefined) values.island.add(String(n.island));
      if (n.operator) values.operator.add(n.operator);
      values.model.add(n.model || "(none)");
    }
    for (const [key, sel] of Object.entries(filters)) {
      const current = sel.value;
      EV.clear(sel).appendChild(h("option", { value: "" }, "all"));
      for (const v of [...values[key]].sort()) sel.appendChild(h("option", { value: v, selected: v === current ? "selected" : null }, v));
    }
  }

  let range = [0, 0]; // fitness range of the drawn nodes, for the colour scale
  function measure() {
    let lo = Infinity;
    let hi = -Infinity;
    for (const n of nodes.values()) {
      if (typeof n.fitness === "number") {
        lo = Math.min(lo, n.fitness);
        hi = Math.max(hi, n.fitness);
      }
    }
    range = [lo, hi];
  }
  function colour(n) {
    const [lo, hi] = range;
    if (typeof n.fitness !== "number") return "#cccccc";
    return EV.viridis(hi > lo ? (n.fitness - lo) / (hi - lo) : 1);
  }

  function layout() {
    const ids = new Set(nodes.keys());
    const rows = [{ id: "root", parentId: null }];
    for (const n of nodes.values()) {
      const p = n.parents.find((q) => ids.has(q));
      rows.push({ id: String(n.id), parentId: p !== undefined ? String(p) : "root" });
    }
    const root = d3.stratify()(rows);
    root.sort((a, b) => Number(a.id === "root" ? 0 : a.id) - Number(b.id === "root" ? 0 : b.id));
    d3.tree().nodeSize([34, 70])(root);
    const pos = new Map();
    root.each((d) => pos.set(d.id, { x: d.x, y: d.y }));
    return pos;
  }

  function elements() {
    measure();
    const pos = layout();
    const els = [];
    for (const n of nodes.values()) {
      const flags = n.flags || [];
      const cls = flags.concat(top.has(n.id) ? ["top"] : [], n.more_up ? ["more"] : []).join(" ");
      els.push({
        group: "nodes",
        data: { id: String(n.id), label: (n.more_up ? "⊕ " : "") + "#" + n.id, color: colour(n) },
        position: pos.get(String(n.id)),
        classes: cls,
      });
      n.parents.forEach((p, rank) => {
        if (nodes.has(p)) els.push({ group: "edges", data: { id: p + ">" + n.id + ":" + rank, source: String(p), target: String(n.id) }, classes: rank ? "second" : "" });
      });
    }
    return els;
  }

  performance.mark("lineage-data");
  const initial = elements();
  performance.mark("lineage-layout");
  const cy = cytoscape({
    container: box,
    elements: initial,
    layout: { name: "preset" },
    minZoom: 0.02,
    maxZoom: 4,
    textureOnViewport: true, // pan and zoom move a bitmap: smooth at thousands of nodes
    hideEdgesOnViewport: true,
    style: [
      { selector: "node", style: { "background-color": "data(color)", width: 18, height: 18, label: "data(label)", "font-size": 8, "text-valign": "bottom", "text-margin-y": 2, "min-zoomed-font-size": 7, "border-width": 1, "border-color": "#555" } },
      { selector: "node.top", style: { width: 28, height: 28, "border-width": 3, "border-color": "#111" } },
      { selector: "node.seed", style: { shape: "round-rectangle" } },
      { selector: "node.failed", style: { "border-color": "#d62728", "border-width": 3 } },
      { selector: "node.evicted", style: { "border-style": "dashed", "border-width": 2, "border-color": "#7f7f7f" } },
      { selector: "node.missing", style: { "background-opacity": 0, "border-style": "dashed", "border-width": 2, "border-color": "#999" } },
      { selector: "node.faded", style: { opacity: 0.12 } },
      { selector: "edge", style: { width: 1.2, "line-color": "#9aa", "curve-style": "straight", "target-arrow-shape": "triangle", "target-arrow-color": "#9aa", "arrow-scale": 0.6 } },
      { selector: "edge.second", style: { "line-style": "dashed", "line-color": "#e08", "target-arrow-color": "#e08", "curve-style": "unbundled-bezier" } },
      { selector: "edge.faded", style: { opacity: 0.08 } },
    ],
  });
  EV.cy = cy; // for tests and the console
  EV.onCleanup(() => {
    cy.destroy();
    EV.cy = null;
  });
  performance.mark("lineage-graph");
  cy.fit(undefined, 30);

  function applyFilters() {
    const want = { island: filters.island.value, operator: filters.operator.value, model: filters.model.value };
    cy.batch(() => {
      cy.nodes().forEach((el) => {
        const n = nodes.get(Number(el.id()));
        const ok =
          (!want.island || String(n.island) === want.island) &&
          (!want.operator || n.operator === want.operator) &&
          (!want.model || (n.model || "(none)") === want.model);
        el.toggleClass("faded", !ok);
      });
      cy.edges().forEach((e) => e.toggleClass("faded", e.source().hasClass("faded") && e.target().hasClass("faded")));
    });
  }
  fillFilters();
  Object.values(filters).forEach((sel) => sel.addEventListener("change", applyFilters));
  fit.addEventListener("click", () => cy.fit(undefined, 30));

  function describe(n) {
    EV.clear(info).appendChild(
      h(
        "div",
        {},
        h("div", { class: "big" }, "#" + n.id + " ", EV.statusBadge(n.status)),
        EV.table(
          ["", ""],
          [
            ["objective", EV.num(n.objective)],
            ["operator", n.operator || "–"],
            ["model", n.model || "–"],
            ["island", String(n.island)],
            ["generation", String(n.generation)],
            ["parents", n.parents.map((p) => "#" + p).join(", ") || "–"],
            ["children", EV.num(n.n_children)],
            ["marks", (n.flags || []).join(", ") + (n.evicted_why ? " (" + n.evicted_why + ")" : "") || "–"],
          ]
        )
      )
    );
  }
  cy.on("mouseover", "node", (e) => describe(nodes.get(Number(e.target.id()))));
  cy.on("tap", "node", (e) => {
    const n = nodes.get(Number(e.target.id()));
    if (!n.missing) location.hash = "#/p/" + n.id;
  });
  cy.on("cxttap", "node", async (e) => {
    if (EV.embedded) return;
    const id = Number(e.target.id());
    const more = await EV.api("/api/p/" + id + "/neighbours");
    let added = 0;
    for (const n of more.nodes) {
      if (!nodes.has(n.id)) {
        nodes.set(n.id, n);
        added++;
      }
    }
    const shown = new Set(nodes.keys());
    for (const n of nodes.values()) n.more_up = !n.missing && n.parents.some((p) => !shown.has(p));
    if (added) {
      cy.elements().remove();
      cy.add(elements());
      fillFilters();
      applyFilters();
      cy.fit(undefined, 30);
    }
    info.appendChild(h("p", { class: "note" }, "#" + id + ": " + added + " programs added (" + more.children_total + " children in all)."));
  });
  EV.lineageReady = true;
  EV.lineageReadyAt = performance.now(); // time to interactive, for benchmarks/dashboard_bench.py
};
