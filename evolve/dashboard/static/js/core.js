// Evolve dashboard: shared helpers, data access and the router.
//
// Safety rule for every file here: text that came from a candidate or a model (code,
// stdout, reasons, thoughts, prompts, replies) only ever becomes a text node. No
// innerHTML, no href or src built from data. The page's Content-Security-Policy and
// Trusted Types make the browser refuse anything else.
"use strict";

const EV = (window.EV = window.EV || {});

// Element builder: h("div", {class: "x", onclick: fn}, "text", child, ...).
EV.h = function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "href") el.setAttribute("href", EV.safeHref(value));
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, String(value));
  }
  EV.append(el, children);
  return el;
};

EV.append = function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
};

// Links point inside the app (#/...) or at our own API; nothing else is ever linked.
EV.safeHref = function safeHref(href) {
  const s = String(href);
  if (s.startsWith("#/") || /^\/api\/p\/\d+\/download$/.test(s)) return s;
  throw new Error("refusing a link outside the dashboard");
};

EV.clear = (el) => {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
};

// -- data: the live API, or the answers embedded in a report -------------------------
EV.embedded = null;
(function loadEmbedded() {
  const node = document.getElementById("evolve-data");
  if (node) EV.embedded = JSON.parse(node.textContent);
})();

EV.api = async function api(path) {
  if (EV.embedded) {
    if (!(path in EV.embedded.answers)) throw new Error("not included in this report");
    return EV.embedded.answers[path];
  }
  const response = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) {
    let message = response.status + " " + response.statusText;
    try {
      message = (await response.json()).error || message;
    } catch (e) {
      /* not JSON */
    }
    throw new Error(message);
  }
  return response.json();
};

// -- formatting ----------------------------------------------------------------------
EV.num = function num(v, digits) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "string") return v; // NaN / Infinity arrive as strings
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return v.toLocaleString("en-US");
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(digits || 3);
  return Number(v.toPrecision(digits || 6)).toString();
};
EV.dollars = (v) => (v === null || v === undefined ? "–" : "$" + (v < 0.01 && v > 0 ? v.toFixed(5) : v.toFixed(2)));
EV.pct = (v) => (v === null || v === undefined ? "–" : (100 * v).toFixed(1) + "%");
EV.seconds = function seconds(s) {
  if (s === null || s === undefined) return "–";
  if (s < 120) return s.toFixed(s < 10 ? 2 : 0) + " s";
  if (s < 7200) return (s / 60).toFixed(1) + " min";
  return (s / 3600).toFixed(1) + " h";
};
EV.when = (t) => (t ? new Date(t * 1000).toLocaleString() : "–");

EV.statusBadge = (status) => EV.h("span", { class: "badge st-" + String(status).replace(/[^a-z]/g, "") }, status);
EV.programLink = (id, text) => EV.h("a", { href: "#/p/" + Number(id), class: "plink" }, text || "#" + Number(id));

EV.table = function table(headers, rows, opts) {
  const head = EV.h("tr", {}, headers.map((x) => EV.h("th", {}, x)));
  const body = rows.map((r) => EV.h("tr", {}, r.map((cell) => EV.h("td", {}, cell))));
  return EV.h("table", { class: "grid " + ((opts && opts.class) || "") }, EV.h("thead", {}, head), EV.h("tbody", {}, body));
};

EV.section = (title, ...children) => EV.h("section", { class: "card" }, EV.h("h2", {}, title), ...children);
EV.pre = (text, cls) => EV.h("pre", { class: cls || "text" }, text === null || text === undefined ? "" : String(text));
EV.note = (text) => EV.h("p", { class: "note" }, text);

// -- router --------------------------------------------------------------------------
EV.views = {};
EV.cleanups = [];
EV.onCleanup = (fn) => EV.cleanups.push(fn);
EV.every = function every(ms, fn) {
  if (EV.embedded) return; // a report is a snapshot
  const id = setInterval(fn, ms);
  EV.onCleanup(() => clearInterval(id));
};

EV.TABS = [
  ["progress", "Progress"],
  ["lineage", "Lineage"],
  ["diversity", "Diversity"],
  ["operators", "Operators & models"],
  ["finetune", "Fine-tuning"],
];

EV.renderNav = function renderNav(campaignId, active) {
  const nav = EV.clear(document.getElementById("nav"));
  nav.appendChild(EV.h("a", { href: "#/", class: active === "campaigns" ? "on" : "" }, "Campaigns"));
  if (campaignId === null || campaignId === undefined) return;
  const tabs = EV.embedded ? EV.TABS.filter(([key]) => EV.embedded.tabs.includes(key)) : EV.TABS;
  for (const [key, label] of tabs) {
    nav.appendChild(EV.h("a", { href: "#/c/" + Number(campaignId) + "/" + key, class: active === key ? "on" : "" }, label));
  }
};

EV.route = async function route() {
  for (const fn of EV.cleanups.splice(0)) {
    try {
      fn();
    } catch (e) {
      console.warn(e);
    }
  }
  const main = EV.clear(document.getElementById("main"));
  const hash = location.hash || "";
  let m;
  try {
    if ((m = hash.match(/^#\/c\/(\d+)\/(\w+)/)) && EV.views[m[2]]) {
      EV.renderNav(Number(m[1]), m[2]);
      await EV.views[m[2]](main, Number(m[1]));
    } else if ((m = hash.match(/^#\/p\/(\d+)/))) {
      EV.renderNav(EV.currentCampaign, "program");
      await EV.views.program(main, Number(m[1]));
    } else if (EV.embedded && hash === "") {
      location.hash = "#/c/" + EV.embedded.campaign + "/progress";
    } else {
      EV.renderNav(null, "campaigns");
      await EV.views.campaigns(main);
    }
  } catch (e) {
    main.appendChild(EV.h("div", { class: "error" }, "Could not load this view: " + e.message));
  }
};

window.addEventListener("hashchange", EV.route);
