// Views: campaigns, progress (with the live feed), operators and models, diversity, fine-tuning.
"use strict";

const h = EV.h;

EV.views.campaigns = async function campaigns(main) {
  const list = await EV.api("/api/campaigns");
  const rows = list.map((c) => [
    h("a", { href: "#/c/" + Number(c.id) + "/progress", class: "cname" }, c.name),
    c.problem,
    EV.statusBadge(c.status),
    h("span", {}, EV.num(c.evaluations) + " / " + EV.num(c.budget), budgetBar(c.evaluations, c.budget)),
    c.best_id ? EV.programLink(c.best_id, EV.num(c.best)) : "–",
    EV.dollars(c.spend.cost) + " · " + EV.num(c.spend.calls) + " calls",
    c.sandbox || "–",
    c.operator + (c.models.length ? " (" + c.models.join(", ") + ")" : ""),
    EV.when(c.updated_at),
  ]);
  main.appendChild(
    EV.section(
      "Campaigns",
      list.length
        ? EV.table(["campaign", "problem", "status", "evaluations / budget", "best", "spend", "sandbox", "operator", "updated"], rows)
        : EV.note("No campaigns in this archive yet.")
    )
  );
  EV.every(2000, async () => {
    const fresh = await EV.api("/api/campaigns");
    if (JSON.stringify(fresh.map((c) => [c.evaluations, c.status])) !== JSON.stringify(list.map((c) => [c.evaluations, c.status]))) EV.route();
  });
};

function budgetBar(done, budget) {
  const bar = h("span", { class: "bar" }, h("span", {}));
  bar.firstChild.style.width = Math.min(100, budget ? (100 * done) / budget : 0) + "%";
  return bar;
}

function stat(label, value) {
  return h("div", { class: "stat" }, h("div", { class: "v" }, value), h("div", { class: "l" }, label));
}

EV.loadSummary = async function loadSummary(cid) {
  const s = await EV.api("/api/c/" + cid + "/summary");
  EV.currentCampaign = cid;
  EV.currentSummary = s;
  document.title = s.name + " · Evolve";
  return s;
};

function header(s) {
  return h(
    "div",
    { class: "chead" },
    h("h1", {}, s.name),
    h("span", { class: "sub" }, s.problem + " · ", EV.statusBadge(s.status), " · " + (s.sandbox || "sandbox –") + " · " + s.operator),
    EV.embedded ? h("span", { class: "sub" }, " · report of " + EV.when(EV.embedded.generated_at)) : null
  );
}

// -- progress ------------------------------------------------------------------------
EV.views.progress = async function progress(main, cid) {
  const [s, p, top] = await Promise.all([EV.loadSummary(cid), EV.api("/api/c/" + cid + "/progress"), EV.api("/api/c/" + cid + "/top?k=10")]);
  main.appendChild(header(s));
  const t = p.totals;
  main.appendChild(
    h(
      "div",
      { class: "stats" },
      stat("evaluations / budget", EV.num(s.evaluations) + " / " + EV.num(s.budget)),
      stat("best (" + p.direction + ")", s.best_id ? EV.programLink(s.best_id, EV.num(s.best)) : "–"),
      stat("failed", EV.num(t.failed)),
      stat("rejected / duplicates", EV.num(t.rejected) + " / " + EV.num(t.duplicates)),
      stat("LLM spend", EV.dollars(s.spend.cost) + " · " + EV.num(s.spend.input_tokens + s.spend.output_tokens) + " tok"),
      stat("wall time", EV.seconds(t.wall_s))
    )
  );
  const charts = h("div", { class: "charts" });
  const axisPick = h(
    "select",
    { id: "xaxis" },
    h("option", { value: "evaluations" }, "evaluations"),
    h("option", { value: "wall_s" }, "wall time (s)"),
    h("option", { value: "dollars" }, "dollars")
  );
  const draw = () => {
    EV.clear(charts);
    const key = axisPick.value;
    const x = p.x[key];
    const xl = axisPick.options[axisPick.selectedIndex].text;
    EV.lineChart(charts, {
      title: "Best and median score",
      x,
      xLabel: xl,
      series: [
        { label: "best", values: p.best, width: 2.5 },
        { label: "median (per bin)", values: p.median, points: true, spanGaps: false },
      ],
    });
    EV.lineChart(charts, {
      title: "Best per island",
      x,
      xLabel: xl,
      series: Object.entries(p.islands).map(([i, v]) => ({ label: "island " + i, values: v })),
    });
    EV.lineChart(charts, {
      title: "Failures by kind (per bin)",
      x,
      xLabel: xl,
      series: Object.entries(p.failures).map(([kind, v]) => ({ label: kind, values: v })),
    });
    EV.lineChart(charts, {
      title: "Rates",
      x,
      xLabel: xl,
      yLabel: "per minute",
      series: [
        { label: "proposals / min", values: p.rates.proposals_per_min },
        { label: "evaluations / min", values: p.rates.evaluations_per_min },
      ],
    });
    EV.lineChart(charts, {
      title: "Duplicate, reject and failure rates",
      x,
      xLabel: xl,
      yLabel: "fraction of proposals",
      series: [
        { label: "duplicates", values: p.rates.duplicate_rate },
        { label: "rejected", values: p.rates.reject_rate },
        { label: "failed", values: p.rates.failure_rate },
      ],
    });
  };
  axisPick.addEventListener("change", draw);
  main.appendChild(EV.section("Progress", h("label", { class: "pick" }, "x axis ", axisPick), charts));
  draw();
  main.appendChild(EV.section("Top programs", programTable(top, "top")));
  if (!EV.embedded) liveFeed(main, cid, s);
};

function programTable(programs, id) {
  return EV.table(
    ["program", "objective", "status", "operator", "model", "island", "gen", "parents"],
    programs.map((q) => [
      EV.programLink(q.id),
      EV.num(q.objective),
      EV.statusBadge(q.status),
      q.operator,
      q.model || "–",
      String(q.island),
      String(q.generation),
      h("span", {}, q.parents.map((pid, i) => [i ? ", " : "", EV.programLink(pid)])),
    ]),
    { class: id }
  );
}

function liveFeed(main, cid, summary) {
  const body = h("div", { id: "live-feed" });
  const status = h("span", { class: "live-dot" }, "following live");
  main.appendChild(EV.section("Latest programs", status, body));
  let lastMax = summary.max_id;
  let lastStatus = summary.status;
  const refresh = async () => {
    const recent = await EV.api("/api/c/" + cid + "/recent?limit=15");
    EV.clear(body).appendChild(programTable(recent, "recent"));
  };
  refresh();
  EV.every(1000, async () => {
    try {
      const s = await EV.api("/api/c/" + cid + "/summary");
      status.className = "live-dot";
      if (s.max_id !== lastMax) {
        lastMax = s.max_id;
        await refresh();
        document.getElementById("live").textContent = "updated " + new Date().toLocaleTimeString();
      }
      if (s.status !== lastStatus) {
        lastStatus = s.status;
        EV.route();
      }
    } catch (e) {
      status.className = "live-dot off";
    }
  });
  // Charts follow too, less often (they are recomputed from every program).
  EV.every(10000, async () => {
    const s = await EV.api("/api/c/" + cid + "/summary");
    if (s.evaluations !== summary.evaluations && location.hash.endsWith("/progress")) EV.route();
  });
}

// -- operators and models -------------------------------------------------------------
EV.views.operators = async function operators(main, cid) {
  const [s, o] = await Promise.all([EV.loadSummary(cid), EV.api("/api/c/" + cid + "/operators")]);
  main.appendChild(header(s));
  const cols = ["proposals", "ok", "failed", "rejected", "duplicates", "success rate", "mean improvement", "improved", "cost", "tokens", "improvement / $"];
  const row = (g) => [
    EV.num(g.proposals),
    EV.num(g.ok),
    EV.num(g.failed),
    EV.num(g.rejected),
    EV.num(g.duplicates),
    EV.pct(g.success_rate),
    EV.num(g.mean_improvement),
    EV.pct(g.improved_rate),
    EV.dollars(g.cost),
    EV.num(g.tokens),
    EV.num(g.improvement_per_dollar),
  ];
  main.appendChild(
    EV.section(
      "Operators (prompt templates) by model",
      EV.note("Improvement is the child's fitness minus its first parent's (positive is better), over children that evaluated ok."),
      EV.table(["operator", "model", ...cols], o.rows.map((g) => [g.operator, g.model || "–", ...row(g)]))
    )
  );
  main.appendChild(EV.section("Models", EV.table(["model", ...cols], o.models.map((g) => [g.model || "(no model)", ...row(g)]))));
  const charts = h("div", { class: "charts" });
  main.appendChild(
    EV.section(
      "Model choice over time",
      EV.note("Each model's share of proposals: what the ensemble (weighted or bandit) chose. Bandit weights themselves are not recorded in the archive."),
      charts
    )
  );
  EV.lineChart(charts, {
    title: "Share of proposals",
    x: o.share.x,
    xLabel: "proposals",
    series: Object.entries(o.share.series).map(([m, v]) => ({ label: m, values: v })),
  });
};

// -- diversity ------------------------------------------------------------------------
EV.views.diversity = async function diversity(main, cid) {
  const [s, d] = await Promise.all([EV.loadSummary(cid), EV.api("/api/c/" + cid + "/diversity")]);
  main.appendChild(header(s));
  const me = d.map_elites;
  const sec = EV.section("MAP-Elites");
  main.appendChild(sec);
  if (!me) {
    sec.appendChild(EV.note("This campaign does not use a MAP-Elites grid (selection " + s.selection + ")."));
  } else {
    const pick = h("select", { id: "island-pick" }, h("option", { value: "all" }, "all islands (best per cell)"), me.islands.map((i) => h("option", { value: String(i) }, "island " + i)));
    const area = h("div", {});
    sec.appendChild(h("label", { class: "pick" }, "show ", pick));
    sec.appendChild(area);
    const draw = () => {
      EV.clear(area);
      const chosen = pick.value === "all" ? me.cells : me.cells.filter((c) => String(c.island) === pick.value);
      const best = new Map();
      for (const c of chosen) {
        const key = c.cell;
        if (!best.has(key) || best.get(key).fitness < c.fitness) best.set(key, c);
      }
      const filled = [...best.values()];
      area.appendChild(EV.note(filled.length + " cells filled; click a cell to open its elite."));
      if (me.kind === "cvt") {
        const byIndex = new Map(filled.map((c) => [c.index[0], c]));
        EV.scatterCells(area, {
          xLabel: me.dims[0][0],
          yLabel: me.dims[1] ? me.dims[1][0] : "",
          points: me.centres.map((pt, i) => {
            const c = byIndex.get(i);
            return { x: pt[0], y: pt[1] || 0, value: c ? c.objective : null, program: c ? c.program_id : null, title: "cell c" + i + (c ? ": #" + c.program_id + " " + EV.num(c.objective) : ": empty") };
          }),
        });
      } else {
        const nx = me.dims[0][3];
        const ny = me.dims[1] ? me.dims[1][3] : 1;
        // Cells project onto the first two dimensions (best elite where several share a square).
        const squares = new Map();
        for (const c of filled) {
          const key = c.index[0] + "," + (c.index[1] || 0);
          if (!squares.has(key) || squares.get(key).fitness < c.fitness) squares.set(key, c);
        }
        EV.heatmap(area, {
          nx,
          ny,
          xLabel: me.dims[0][0],
          yLabel: me.dims[1] ? me.dims[1][0] : "",
          cells: [...squares.values()].map((c) => ({
            x: c.index[0],
            y: c.index[1] || 0,
            value: c.objective,
            program: c.program_id,
            title: "cell " + c.cell + " (island " + c.island + "): #" + c.program_id + " " + EV.num(c.objective),
          })),
        });
      }
    };
    pick.addEventListener("change", draw);
    draw();
  }
  const charts = h("div", { class: "charts" });
  main.appendChild(EV.section("Novelty and clusters over time", charts));
  EV.lineChart(charts, {
    title: "Mean novelty of new programs (" + (d.novelty.keys || []).join(", ") + ")",
    x: d.novelty.x,
    xLabel: "proposals",
    series: [{ label: "novelty (kNN distance)", values: d.novelty.mean, points: true }],
  });
  EV.lineChart(charts, {
    title: "Score clusters (programs of equal score)",
    x: d.clusters.x,
    xLabel: "proposals",
    series: [
      { label: "clusters", values: d.clusters.clusters },
      { label: "largest cluster", values: d.clusters.largest },
    ],
  });
};

// -- fine-tuning ----------------------------------------------------------------------
EV.views.finetune = async function finetune(main, cid) {
  const [s, f] = await Promise.all([EV.loadSummary(cid), EV.api("/api/c/" + cid + "/finetune")]);
  main.appendChild(header(s));
  const rounds = EV.section("Fine-tuning rounds");
  main.appendChild(rounds);
  if (!f.rounds.length) rounds.appendChild(EV.note("No fine-tuning rounds are recorded for this campaign."));
  else
    rounds.appendChild(
      EV.table(
        ["round", "after proposals", "method", "model", "examples", "training metrics"],
        f.rounds.map((r) => [
          String(r.round),
          EV.num(r.at),
          r.method || "–",
          r.model || "–",
          r.metrics ? EV.num(r.metrics.examples) : "not readable here",
          r.metrics ? Object.entries(r.metrics.metrics).map(([k, v]) => k + " " + EV.num(v)).join(" · ") : "–",
        ])
      )
    );
  main.appendChild(
    EV.section(
      "Which model produced which programs",
      EV.table(
        ["model", "proposals", "ok", "best", "mean", "first seq", "last seq"],
        f.models.map((m) => [m.model || "(no model: GP or seed)", EV.num(m.proposals), EV.num(m.ok), EV.num(m.best), EV.num(m.mean), EV.num(m.first_seq), EV.num(m.last_seq)])
      )
    )
  );
};
