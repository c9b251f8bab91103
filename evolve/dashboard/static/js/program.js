// One program: code, diffs against its parents, metrics, output, the model calls that
// produced it, and its children. Every string from the archive becomes a text node.
"use strict";

EV.views.program = async function program(main, pid) {
  const h = EV.h;
  const p = await EV.api("/api/p/" + pid);
  EV.currentCampaign = p.campaign.id;
  EV.renderNav(p.campaign.id, "program");
  document.title = "#" + p.id + " · Evolve";

  const download = EV.embedded
    ? h("button", { id: "download", type: "button", onclick: () => saveText(p.code, p.filename) }, "download .py")
    : h("a", { id: "download", class: "button", href: "/api/p/" + Number(p.id) + "/download", download: p.filename }, "download .py");
  main.appendChild(
    h(
      "div",
      { class: "chead" },
      h("h1", {}, "Program #" + p.id + " "),
      EV.statusBadge(p.status),
      h("span", { class: "sub" }, " objective " + EV.num(p.objective) + " · " + (p.operator || "–") + (p.model ? " · " + p.model : "") + " · island " + p.island + " · generation " + p.generation + (p.seq !== null ? " · proposal " + p.seq : "")),
      download
    )
  );
  if (p.reason) main.appendChild(EV.section("Failure reason", EV.pre(p.reason, "text reason")));

  const code = h("code", { class: "hl", id: "code" });
  for (const [cls, text] of p.code_tokens) code.appendChild(cls ? h("span", { class: "t-" + cls.replace(/[^a-zA-Z0-9]/g, "") }, text) : document.createTextNode(text));
  main.appendChild(EV.section("Code", h("pre", { class: "code" }, code)));

  if (p.diffs.length) {
    const diffs = EV.section("Diff against " + (p.diffs.length > 1 ? "each parent" : "its parent"));
    for (const d of p.diffs) {
      diffs.appendChild(h("h3", {}, (d.rank ? "second parent " : "parent ") , EV.programLink(d.parent_id), " (objective " + EV.num(d.parent_objective) + ")"));
      if (d.missing) diffs.appendChild(EV.note("This parent is not in the archive (evicted or removed); no diff."));
      else if (!d.lines.length) diffs.appendChild(EV.note("Identical code."));
      else {
        const pre = h("pre", { class: "diff", dataset: { parent: String(d.parent_id) } });
        for (const line of d.lines) {
          const kind = line.startsWith("+++") || line.startsWith("---") ? "file" : line[0] === "+" ? "add" : line[0] === "-" ? "del" : line[0] === "@" ? "hunk" : "ctx";
          pre.appendChild(h("span", { class: "dl " + kind }, line + "\n"));
        }
        diffs.appendChild(pre);
      }
    }
    main.appendChild(diffs);
  }

  const metricRows = Object.entries(p.metrics).map(([k, v]) => [k, EV.num(v)]);
  metricRows.push(["evaluation time", EV.seconds(p.eval_time)], ["proposal time", EV.seconds(p.proposal_time)]);
  metricRows.push(["tokens in / out", EV.num(p.tokens.input) + " / " + EV.num(p.tokens.output)], ["cost", EV.dollars(p.cost)]);
  if (p.duplicate_of) metricRows.push(["duplicate of", EV.programLink(p.duplicate_of)]);
  const metrics = EV.section("Metrics", EV.table(["metric", "value"], metricRows));
  const cases = Object.entries(p.cases);
  if (cases.length) metrics.appendChild(h("details", { open: cases.length <= 20 ? "open" : null }, h("summary", {}, cases.length + " per-case scores"), EV.table(["case", "score"], cases.map(([k, v]) => [k, EV.num(v)]))));
  if (p.descriptor) metrics.appendChild(EV.table(["descriptor", "value"], Object.entries(p.descriptor).map(([k, v]) => [k, EV.num(v)])));
  main.appendChild(metrics);

  if (p.thought || p.reflection.length || p.feedback) {
    const words = EV.section("Thought and reflection");
    if (p.thought) words.append(h("h3", {}, "thought"), EV.pre(p.thought, "text thought"));
    for (const r of p.reflection) words.append(h("h3", {}, "reflection"), EV.pre(r, "text reflection"));
    if (p.feedback) words.append(h("h3", {}, "feedback from the scorer"), EV.pre(p.feedback, "text"));
    main.appendChild(words);
  }
  main.appendChild(EV.section("Output (stdout tail)", p.stdout_tail ? EV.pre((p.stdout_truncated ? "…" : "") + p.stdout_tail, "text stdout") : EV.note("No output.")));

  if (p.calls.length) {
    const calls = EV.section("LLM calls");
    for (const c of p.calls) {
      const prompt = h("div", { class: "prompt" });
      for (const m of c.prompt) prompt.append(h("div", { class: "role" }, m.role), EV.pre(m.content, "text msg"));
      calls.appendChild(
        h(
          "div",
          { class: "call" },
          h("h3", {}, c.purpose + " · " + c.model + " · " + EV.num(c.input_tokens) + " in / " + EV.num(c.output_tokens) + " out tokens · " + EV.dollars(c.cost) + " · " + EV.seconds(c.latency)),
          c.error ? EV.pre("error: " + c.error, "text reason") : null,
          h("details", {}, h("summary", {}, "prompt (" + c.prompt.length + " messages)"), prompt),
          h("div", { class: "role" }, "reply"),
          EV.pre(c.response, "text reply")
        )
      );
    }
    main.appendChild(calls);
  }
  main.appendChild(
    EV.section(
      "Children (" + p.n_children + ")",
      p.children.length
        ? EV.table(["program", "objective", "status", "operator"], p.children.map((q) => [EV.programLink(q.id), EV.num(q.objective), EV.statusBadge(q.status), q.operator]))
        : EV.note("No children.")
    )
  );
};

function saveText(text, name) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/x-python" }));
  const a = document.createElement("a");
  a.href = url; // a blob: URL we made, never one from the data
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
