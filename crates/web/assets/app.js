// Winter River dashboard. Plain JavaScript, no dependencies: the live stream
// (/api/live, server-sent events, at most 10 pushes a second), a one-line diagram
// laid out from the topology, the selected board's OLED frame as the node core
// draws it (/api/nodes/{id}/screen), charts and the event timeline.
"use strict";

const SVGNS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
const HISTORY_S = 900;

// Geometry of the diagram [px in diagram space].
const NODE_W = 172, NODE_H = 66, COL_W = 192, ROW_H = 100;
const TILE = 15, TILE_GAP = 3, GROUP_COLS = 10, GROUP_MIN_W = 176;
/// Above this many nodes the diagram starts with PDUs and racks folded into their UPS.
const FOLD_ABOVE = 250;
/// Sites this small need no folding controls.
const FOLD_CONTROLS_ABOVE = 30;

const S = {
  token: null,
  control: false,
  topoVersion: -1,
  topo: null,
  nodes: new Map(),
  system: null,
  link: { broker: false, engine: null },
  streamUp: false,
  events: [],
  hist: { t: [], it: [], fac: [], pue: [], bat: new Map() },
  nodeHist: { id: null, t: [], kw: [] },
  selected: null,
  folded: new Set(),
  openGroups: new Set(),
  layout: null,
  dirty: new Set(),
  dirtyAll: false,
  frameDue: false,
  view: { x: 0, y: 0, k: 1 },
};

// ── Token and control ─────────────────────────────────────────────────────
function initToken() {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get("token");
  if (fromUrl) {
    try { localStorage.setItem("wr-token", fromUrl); } catch (_) { /* private mode */ }
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
    S.token = fromUrl;
  } else {
    try { S.token = localStorage.getItem("wr-token"); } catch (_) { S.token = null; }
  }
  checkSession();
  $("mode").addEventListener("click", () => {
    const t = prompt(S.control ? "Operator token (empty to become read-only):" : "Operator token (printed by `winter-river up`):", "");
    if (t === null) return;
    S.token = t.trim() || null;
    try { if (S.token) localStorage.setItem("wr-token", S.token); else localStorage.removeItem("wr-token"); } catch (_) { /* ignore */ }
    checkSession();
  });
}

async function checkSession() {
  let control = false;
  if (S.token) {
    try {
      const r = await fetch("/api/session", { headers: { Authorization: "Bearer " + S.token } });
      control = r.ok && (await r.json()).control === true;
    } catch (_) { control = false; }
  }
  S.control = control;
  const m = $("mode");
  m.textContent = control ? "Operator" : "Read-only";
  m.classList.toggle("operator", control);
  m.title = control ? "Controls enabled (click to change the token)" : "Controls need the operator token: click to enter it";
  renderDetail();
}

async function sendCommand(id, command, params) {
  const headers = { "Content-Type": "application/json" };
  if (S.token) headers.Authorization = "Bearer " + S.token;
  let r;
  try {
    r = await fetch("/api/nodes/" + encodeURIComponent(id) + "/command", {
      method: "POST", headers, body: JSON.stringify({ command, params }),
    });
  } catch (e) {
    toast("Not sent: the dashboard is unreachable", true);
    return false;
  }
  if (r.ok) {
    toast(command + " sent to " + id);
    return true;
  }
  let why = r.statusText;
  try { why = (await r.json()).error || why; } catch (_) { /* not JSON */ }
  toast("Refused (" + r.status + "): " + why, true);
  return false;
}

let toastTimer = 0;
function toast(text, error) {
  const t = $("toast");
  t.textContent = text;
  t.classList.toggle("error", !!error);
  t.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.classList.remove("show"), 2600);
}

// ── Formatting ────────────────────────────────────────────────────────────
const num = (v) => typeof v === "number" && isFinite(v);
function fmt(v, digits) {
  if (!num(v)) return "—";
  return v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
function fmtKw(v) {
  if (!num(v)) return "—";
  const a = Math.abs(v);
  return fmt(v, a >= 1000 ? 0 : a >= 100 ? 1 : 2 > a ? 2 : 1);
}
function fmtDuration(s) {
  if (!num(s)) return "—";
  if (s >= 359999) return "> 99 h";
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  if (h > 0) return h + " h " + String(m).padStart(2, "0") + " m";
  return m + ":" + String(r).padStart(2, "0");
}
function fmtVolts(v) {
  if (!num(v)) return "—";
  return v >= 1000 ? fmt(v / 1000, 1) + " kV" : fmt(v, 0) + " V";
}
const STATUS_TEXT = {
  ok: "OK", fault: "FAULT", unpowered: "UNPOWERED", tripped: "TRIPPED", overload: "OVERLOAD",
  on_battery: "ON BATTERY", bypass: "BYPASS", standby: "STANDBY", starting: "STARTING",
  cooldown: "COOLDOWN", out_of_fuel: "NO FUEL", offline: "OFFLINE",
};
const KIND_TEXT = {
  utility: "Utility feed", generator: "Generator", transformer: "Transformer", switchgear: "Switchgear / ATS",
  distribution: "Distribution board", ups: "UPS", pdu: "PDU", server: "Server rack", cooling: "Cooling", load: "Load",
};
const isLoad = (k) => k === "server" || k === "cooling" || k === "load";
const statusOf = (id) => (S.nodes.get(id) || {}).status || "unknown";

// ── Layout ────────────────────────────────────────────────────────────────
// Infrastructure (everything but loads) in rows by depth below the sources, one
// column block per side (connected infrastructure: the A and B chains of a 2N
// site), each laid out as a tidy tree over the first feed; generators sit in the
// row of the transformer next to them, on the outside of their side. Loads go to
// the bottom row in groups of the same feeds (racks by PDU pair).
function layout(topo) {
  const nodes = topo.nodes;
  const byId = new Map(nodes.map((n, i) => [n.id, Object.assign({ index: i }, n)]));
  const children = new Map(nodes.map((n) => [n.id, []]));
  for (const n of nodes) for (const f of n.feeds) if (children.has(f)) children.get(f).push(n.id);
  const infra = nodes.filter((n) => !isLoad(n.kind)).map((n) => n.id);

  // Sides: union-find over infrastructure feeds.
  const parent = new Map(infra.map((id) => [id, id]));
  const find = (a) => { while (parent.get(a) !== a) { parent.set(a, parent.get(parent.get(a))); a = parent.get(a); } return a; };
  for (const id of infra) for (const f of byId.get(id).feeds) if (parent.has(f)) parent.set(find(id), find(f));
  const sides = [];
  const sideOf = new Map();
  for (const id of infra) {
    const r = find(id);
    if (!sideOf.has(r)) { sideOf.set(r, sides.length); sides.push([]); }
    sides[sideOf.get(r)].push(id);
  }

  // Levels: longest path from a source; a source feeding only lower rows moves down
  // next to its siblings (a generator beside its transformer).
  const level = new Map();
  const lv = (id, seen) => {
    if (level.has(id)) return level.get(id);
    if (seen.has(id)) return 0;
    seen.add(id);
    const feeds = byId.get(id).feeds.filter((f) => parent.has(f));
    const l = feeds.length ? Math.max(...feeds.map((f) => lv(f, seen))) + 1 : 0;
    level.set(id, l);
    return l;
  };
  for (const id of infra) lv(id, new Set());
  for (const id of infra) {
    const n = byId.get(id);
    if (n.feeds.length === 0) {
      const kids = children.get(id).filter((c) => level.has(c));
      if (kids.length) level.set(id, Math.max(level.get(id), Math.min(...kids.map((c) => level.get(c))) - 1));
    }
  }
  let maxLevel = 0;
  for (const l of level.values()) maxLevel = Math.max(maxLevel, l);

  // Folding: a folded node hides its tree descendants.
  const treeKids = new Map(infra.map((id) => [id, []]));
  for (const id of infra) {
    const f = byId.get(id).feeds.find((x) => treeKids.has(x));
    if (f !== undefined) treeKids.get(f).push(id);
  }
  const hidden = new Set();
  const hideBelow = (id) => { for (const c of treeKids.get(id) || []) { hidden.add(c); hideBelow(c); } };
  for (const id of S.folded) if (treeKids.has(id)) hideBelow(id);
  // The visible stand-in for a node: itself, or its nearest visible tree ancestor.
  const treeParent = new Map();
  for (const [p, ks] of treeKids) for (const k of ks) treeParent.set(k, p);
  const rep = (id) => { let x = id; while (hidden.has(x) && treeParent.has(x)) x = treeParent.get(x); return x; };

  // Tidy tree per side: leaves take consecutive columns, parents centre on children.
  const pos = new Map();
  let col = 0;
  const place = (id) => {
    const kids = (treeKids.get(id) || []).filter((k) => !hidden.has(k));
    if (kids.length === 0) { pos.set(id, col); col += 1; return; }
    for (const k of kids) place(k);
    pos.set(id, (pos.get(kids[0]) + pos.get(kids[kids.length - 1])) / 2);
  };
  // Loads fed from two sides of a 2N site (cooling, house loads) sit one row below
  // their lowest feed, between the sides; the others go to the bottom row.
  const sideOfId = (id) => (parent.has(id) ? sideOf.get(find(id)) : -1);
  const loadLevel = (n) => {
    const feeds = n.feeds.filter((f) => level.has(f));
    if (sides.length !== 2 || !feeds.length) return maxLevel + 1;
    const feedSides = new Set(feeds.map(sideOfId));
    if (feedSides.size < 2) return maxLevel + 1;
    return Math.min(maxLevel + 1, Math.max(...feeds.map((f) => level.get(f))) + 1);
  };
  const groupKey = (n) => (n.kind === "server" ? "server" : n.kind) + "|" + n.feeds.join(",");
  const midWidth = new Map();
  const seenGroup = new Set();
  for (const n of nodes) {
    if (!isLoad(n.kind)) continue;
    const l = loadLevel(n);
    if (l > maxLevel || seenGroup.has(groupKey(n))) continue;
    seenGroup.add(groupKey(n));
    const size = nodes.filter((m) => isLoad(m.kind) && groupKey(m) === groupKey(n)).length;
    const w = size <= 2 ? size * (NODE_W + 18) : Math.max(GROUP_MIN_W, Math.min(GROUP_COLS, size) * (TILE + TILE_GAP) + 18) + 18;
    midWidth.set(l, (midWidth.get(l) || 0) + w);
  }
  let midCols = 0.6;
  for (const w of midWidth.values()) midCols = Math.max(midCols, (w + 30) / COL_W - 0.15);

  const sideSpans = [];
  sides.forEach((ids, si) => {
    const start = col;
    const roots = ids.filter((id) => !treeParent.has(id));
    // Generators (roots with no tree children) beside the switchgear they feed,
    // on the outside of their side.
    const lone = roots.filter((r) => (treeKids.get(r) || []).length === 0);
    const main = roots.filter((r) => !lone.includes(r));
    for (const r of main) place(r);
    const outside = si === 0 && sides.length > 1 ? -1 : 1;
    for (const r of lone) {
      const kid = children.get(r).find((c) => pos.has(c));
      const want = kid !== undefined ? pos.get(kid) + outside : null;
      const clash = want === null || infra.some((o) => o !== r && pos.has(o) && level.get(o) === level.get(r) && Math.abs(pos.get(o) - want) < 1);
      if (!clash && want >= start - 1) pos.set(r, want);
      else { pos.set(r, col); col += 1; }
    }
    let lo = Infinity, hi = -Infinity;
    for (const id of ids) if (pos.has(id)) { lo = Math.min(lo, pos.get(id)); hi = Math.max(hi, pos.get(id)); }
    sideSpans.push([lo, hi]);
    col = hi + 1 + (si === 0 ? midCols : 0.6);
  });
  // Shift so the leftmost column is 0.
  let minCol = Infinity;
  for (const c of pos.values()) minCol = Math.min(minCol, c);
  if (isFinite(minCol) && minCol !== 0) for (const [k, c] of pos) pos.set(k, c - minCol);

  const X = (c) => 40 + c * COL_W;
  const Y = (l) => 30 + l * ROW_H;
  const boxes = [];
  for (const id of infra) {
    if (hidden.has(id)) continue;
    const n = byId.get(id);
    const hiddenBelow = [];
    if (S.folded.has(id)) {
      const walk = (x) => { for (const c of treeKids.get(x) || []) { hiddenBelow.push(c); walk(c); } };
      walk(id);
    }
    boxes.push({ type: "node", id, kind: n.kind, x: X(pos.get(id)), y: Y(level.get(id)), w: NODE_W, h: NODE_H,
      foldable: (treeKids.get(id) || []).length > 0 && n.kind !== "utility", hiddenBelow });
  }

  // Loads: grouped by their (visible) feeds and kind; hidden when every feed is.
  const groups = new Map();
  for (const n of nodes) {
    if (!isLoad(n.kind)) continue;
    const visibleFeeds = n.feeds.filter((f) => !hidden.has(f));
    const cls = n.kind === "server" ? "server" : n.kind;
    const key = groupKey(n);
    if (!groups.has(key)) groups.set(key, { key, kind: cls, feeds: n.feeds.slice(), members: [], visible: visibleFeeds.length > 0, level: loadLevel(n) });
    groups.get(key).members.push(n.id);
  }
  const placed = [];
  const hiddenLoads = new Map(); // stand-in id → count of loads folded into it
  for (const g of groups.values()) {
    if (!g.visible) {
      const r = rep(g.feeds[0]);
      hiddenLoads.set(r, (hiddenLoads.get(r) || 0) + g.members.length);
      continue;
    }
    const xs = g.feeds.map((f) => rep(f)).filter((f) => pos.has(f)).map((f) => X(pos.get(f)) + NODE_W / 2);
    g.cx = xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
    if (g.members.length <= 2) {
      for (const m of g.members) placed.push({ type: "node", id: m, kind: byId.get(m).kind, w: NODE_W, h: NODE_H, cx: g.cx, feeds: g.feeds, y: Y(g.level) });
    } else {
      const open = !S.openGroups.has("closed:" + g.key);
      const cols = Math.min(GROUP_COLS, g.members.length);
      const rows = open ? Math.ceil(g.members.length / cols) : 0;
      const w = Math.max(GROUP_MIN_W, cols * (TILE + TILE_GAP) + 18);
      const h = 44 + (open ? rows * (TILE + TILE_GAP) + 6 : 8);
      placed.push({ type: "group", key: g.key, kind: g.kind, members: g.members, feeds: g.feeds, w, h, cx: g.cx, y: Y(g.level), open, cols });
    }
  }
  // Per row: pack left to right around their ideal centres, without overlaps.
  const rows = new Map();
  for (const p of placed) { if (!rows.has(p.y)) rows.set(p.y, []); rows.get(p.y).push(p); }
  for (const row of rows.values()) {
    row.sort((a, b) => a.cx - b.cx);
    const gap = 18;
    let cursor = -Infinity;
    for (const p of row) {
      p.x = Math.max(p.cx - p.w / 2, cursor + gap);
      cursor = p.x + p.w;
    }
    const ideal = row.reduce((a, p) => a + p.cx, 0) / row.length;
    const actual = row.reduce((a, p) => a + p.x + p.w / 2, 0) / row.length;
    const shift = Math.max(ideal - actual, 20 - row[0].x);
    for (const p of row) p.x += shift;
  }
  for (const p of placed) boxes.push(p);

  // Edges between visible stand-ins, once each.
  const boxOf = new Map();
  for (const b of boxes) {
    if (b.type === "node") boxOf.set(b.id, b);
    else for (const m of b.members) boxOf.set(m, b);
  }
  const edges = [];
  const seen = new Set();
  for (const n of nodes) {
    const to = boxOf.get(n.id);
    if (!to) continue;
    n.feeds.forEach((f, fi) => {
      const from = boxOf.get(rep(f));
      if (!from || from === to) return;
      const key = (from.id || from.key) + ">" + (to.id || to.key) + ">" + fi;
      if (seen.has(key)) return;
      seen.add(key);
      edges.push({ from: rep(f), feed: f, to: n.id, toBox: to, fromBox: from, index: fi, count: n.feeds.length, key });
    });
  }
  for (const b of boxes) if (b.type === "node" && hiddenLoads.has(b.id)) b.hiddenLoads = hiddenLoads.get(b.id);
  let width = 0, height = 0;
  for (const b of boxes) { width = Math.max(width, b.x + b.w); height = Math.max(height, b.y + b.h); }
  return { boxes, edges, byId, width: width + 40, height: height + 30, sideSpans, treeKids, hidden };
}

// ── Diagram rendering ─────────────────────────────────────────────────────
function el(name, attrs, parent) {
  const e = document.createElementNS(SVGNS, name);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}

const R = { nodeEls: new Map(), tileEls: new Map(), groupEls: [], edgeEls: [] };

function buildDiagram() {
  const L = S.layout;
  const boxesG = $("boxes"), live = $("edges-live"), dead = $("edges-dead");
  boxesG.textContent = ""; live.textContent = ""; dead.textContent = "";
  R.nodeEls.clear(); R.tileEls.clear(); R.groupEls = []; R.edgeEls = [];
  for (const e of L.edges) {
    const a = e.fromBox, b = e.toBox;
    const x1 = a.x + a.w / 2, y1 = a.y + a.h;
    // Enter straight below the feed when it is above the box, else at the near end.
    let x2 = Math.max(b.x + 14, Math.min(b.x + b.w - 14, x1));
    if (e.count > 1 && Math.abs(x2 - (b.x + b.w / 2)) < 8) x2 = b.x + (b.w * (e.index + 1)) / (e.count + 1);
    const y2 = b.y;
    let d;
    if (a.y + a.h < b.y - 4) {
      const ym = b.y - 20 - e.index * 7;
      d = `M${x1},${y1} V${ym} H${x2} V${y2}`;
    } else {
      // Same row (a generator beside its transformer): leave from the side.
      const sx = x1 < x2 ? a.x + a.w : a.x;
      const sy = a.y + a.h / 2;
      d = `M${sx},${sy} H${x2} V${y2}`;
    }
    const p = el("path", { d, class: "edge dead" }, dead);
    R.edgeEls.push({ e, p, state: "dead" });
  }
  for (const b of L.boxes) {
    if (b.type === "node") buildNode(b, boxesG);
    else buildGroup(b, boxesG);
  }
  $("waiting").hidden = true;
  updateAll();
}

function buildNode(b, parent) {
  const g = el("g", { class: "node", transform: `translate(${b.x},${b.y})`, "data-id": b.id, tabindex: "0", role: "button" }, parent);
  el("rect", { class: "box", width: b.w, height: b.h, rx: 6 }, g);
  el("rect", { class: "bar", width: 4, height: b.h - 8, x: 4, y: 4, rx: 2 }, g);
  const id = el("text", { class: "id", x: 14, y: 18 }, g);
  id.textContent = b.id.length > 13 ? b.id.slice(0, 12) + "…" : b.id;
  const chip = el("rect", { class: "chip", x: b.w - 70, y: 7, width: 64, height: 15 }, g);
  const chipText = el("text", { class: "chiptext", x: b.w - 38, y: 18, "text-anchor": "middle" }, g);
  const sub = el("text", { class: "sub", x: 14, y: 35 }, g);
  const kw = el("text", { class: "kw", x: 14, y: 54 }, g);
  const pct = el("text", { class: "pct", x: b.w - 8, y: 54, "text-anchor": "end" }, g);
  el("rect", { class: "loadbg", x: 14, y: b.h - 6, width: b.w - 22, height: 2.5, rx: 1 }, g);
  const loadfg = el("rect", { class: "loadfg", x: 14, y: b.h - 6, width: 0, height: 2.5, rx: 1 }, g);
  const title = el("title", {}, g);
  let fold = null;
  if (b.foldable && (S.folded.has(b.id) || (S.topo.nodes.length > FOLD_CONTROLS_ABOVE && (b.kind === "ups" || b.kind === "distribution")))) {
    const folded = S.folded.has(b.id);
    fold = el("g", { class: "foldbtn", transform: `translate(${b.w / 2 - 40},${b.h + 3})`, "data-fold": b.id }, g);
    el("rect", { class: "fold", width: 80, height: 16, rx: 8 }, fold);
    const t = el("text", { class: "foldtext", x: 40, y: 12, "text-anchor": "middle" }, fold);
    const n = b.hiddenBelow.length + (b.hiddenLoads || 0);
    t.textContent = folded ? `▸ ${n} more` : "▾ fold";
  }
  R.nodeEls.set(b.id, { g, chip, chipText, sub, kw, pct, loadfg, title, b, last: "" });
  if (S.selected === b.id) g.classList.add("selected");
}

function buildGroup(b, parent) {
  const g = el("g", { class: "group", transform: `translate(${b.x},${b.y})`, "data-group": b.key }, parent);
  el("rect", { class: "gbox", width: b.w, height: b.h, rx: 6 }, g);
  const head = el("g", { class: "ghead", "data-toggle": b.key }, g);
  el("rect", { width: b.w, height: 40, fill: "transparent" }, head);
  const title = el("text", { class: "gtitle", x: 10, y: 17 }, head);
  const what = b.kind === "server" ? "racks" : b.kind === "cooling" ? "cooling" : "loads";
  title.textContent = `${b.open ? "▾" : "▸"} ${b.members.length} ${what}`;
  const sub = el("text", { class: "gsub", x: b.w - 10, y: 17, "text-anchor": "end" }, head);
  const feeds = el("text", { class: "gsub", x: 10, y: 33 }, head);
  feeds.textContent = b.feeds.length <= 2 ? b.feeds.join(" + ") : b.feeds.length + " feeds";
  const title2 = el("title", {}, head);
  title2.textContent = b.members.join(", ") + " — click to fold or unfold";
  const summary = el("g", {}, g);
  const ge = { g, b, sub, summary, tiles: [] };
  if (b.open) {
    b.members.forEach((id, i) => {
      const cx = 9 + (i % b.cols) * (TILE + TILE_GAP);
      const cy = 42 + Math.floor(i / b.cols) * (TILE + TILE_GAP);
      const t = el("rect", { class: "tile st-unknown", x: cx, y: cy, width: TILE, height: TILE, "data-id": id }, g);
      const tt = el("title", {}, t);
      tt.textContent = id;
      R.tileEls.set(id, { t, tt, last: "" });
      if (S.selected === id) t.classList.add("selected");
    });
  } else {
    // Folded group: one bar of status proportions.
    for (let i = 0; i < 6; i++) el("rect", { class: "mini", x: 10, y: 39, width: 0, height: 5 }, summary);
  }
  R.groupEls.push(ge);
}

// What is live: a node that hands voltage downstream, and where its energy comes from.
const LIVE_STATES = new Set(["ok", "on_battery", "bypass", "overload", "cooldown"]);
function liveOut(id) {
  const s = S.nodes.get(id);
  if (!s) return false;
  if (num(s.voltage_out)) return s.voltage_out > 0 && s.status !== "fault" && s.status !== "tripped";
  return LIVE_STATES.has(s.status);
}
function originOf(id, memo, depth) {
  if (memo.has(id)) return memo.get(id);
  if (depth > 64) return null;
  memo.set(id, null);
  const n = S.layout.byId.get(id);
  const s = S.nodes.get(id);
  let o = null;
  if (n && liveOut(id)) {
    if (n.kind === "utility") o = "utility";
    else if (n.kind === "generator") o = "generator";
    else if (n.kind === "ups" && s && s.status === "on_battery") o = "battery";
    else {
      const feeds = n.kind === "switchgear" && s && s.source ? [s.source] : n.feeds;
      for (const f of feeds) { const fo = originOf(f, memo, depth + 1); if (fo) { o = fo; break; } }
    }
  }
  memo.set(id, o);
  return o;
}

function updateAll() {
  for (const id of R.nodeEls.keys()) updateNode(id);
  for (const id of R.tileEls.keys()) updateTile(id);
  updateGroups();
  updateEdges();
}

function updateNode(id) {
  const r = R.nodeEls.get(id);
  if (!r) return;
  const s = S.nodes.get(id) || {};
  const st = s.status || "unknown";
  const kind = r.b.kind;
  let sub = "";
  switch (kind) {
    case "utility": sub = fmtVolts(s.voltage_out) + " feed"; break;
    case "generator": sub = "fuel " + fmt(s.fuel_pct, 0) + " %"; break;
    case "transformer": sub = fmtVolts(s.voltage_in) + " → " + fmtVolts(s.voltage_out); break;
    case "switchgear": sub = "ATS on " + (s.source || "—"); break;
    case "distribution": sub = "bus " + fmtVolts(s.voltage_out); break;
    case "ups": sub = "batt " + fmt(s.battery_pct, 0) + " % · " + fmtDuration(s.runtime_s); break;
    case "pdu": sub = fmtVolts(s.voltage_in) + " → " + fmtVolts(s.voltage_out); break;
    default: sub = KIND_TEXT[kind] || kind;
  }
  const kw = fmtKw(s.power_kw) + " kW";
  const pct = num(s.load_pct) ? fmt(s.load_pct, 0) + " %" : "";
  const online = s.online;
  const key = [st, sub, kw, pct, online].join("|");
  if (key === r.last) return;
  r.last = key;
  r.g.setAttribute("class", "node st-" + st + (online === false ? " offline" : "") + (S.selected === id ? " selected" : ""));
  r.g.setAttribute("data-status", st);
  r.chipText.textContent = STATUS_TEXT[st] || st.toUpperCase();
  r.sub.textContent = sub;
  r.kw.textContent = kw;
  r.pct.textContent = pct;
  const frac = num(s.load_pct) ? Math.max(0, Math.min(1, s.load_pct / 100)) : 0;
  r.loadfg.setAttribute("width", ((r.b.w - 22) * frac).toFixed(1));
  r.loadfg.style.fill = s.load_pct > 100 ? "var(--fault)" : s.load_pct > 80 ? "var(--warn)" : "";
  r.title.textContent = `${id} (${KIND_TEXT[kind] || kind}): ${STATUS_TEXT[st] || st}` + (online === false ? ", board offline" : "");
}

function updateTile(id) {
  const r = R.tileEls.get(id);
  if (!r) return;
  const s = S.nodes.get(id) || {};
  const st = s.status || "unknown";
  const key = st + "|" + s.online + "|" + fmtKw(s.power_kw);
  if (key === r.last) return;
  r.last = key;
  r.t.setAttribute("class", "tile st-" + st + (s.online === false ? " offline" : "") + (S.selected === id ? " selected" : ""));
  r.t.setAttribute("data-status", st);
  r.tt.textContent = `${id}: ${STATUS_TEXT[st] || st}, ${fmtKw(s.power_kw)} kW`;
}

const BAD = new Set(["fault", "tripped", "out_of_fuel"]);
function updateGroups() {
  for (const ge of R.groupEls) {
    let kw = 0, ok = 0, bad = 0, dead = 0, other = 0;
    for (const m of ge.b.members) {
      const s = S.nodes.get(m) || {};
      if (num(s.power_kw)) kw += s.power_kw;
      if (s.status === "ok") ok++;
      else if (BAD.has(s.status)) bad++;
      else if (s.status === "unpowered" || !s.status) dead++;
      else other++;
    }
    const parts = [];
    if (bad) parts.push(bad + " failed");
    if (dead) parts.push(dead + " dark");
    parts.push(fmtKw(kw) + " kW");
    ge.sub.textContent = parts.join(" · ");
    ge.sub.style.fill = bad ? "#ff9b9b" : dead ? "#c9a86a" : "";
    if (!ge.b.open) {
      const n = ge.b.members.length || 1;
      const w = ge.b.w - 20;
      const seg = [[ok, "var(--ok)"], [other, "var(--warn)"], [bad, "var(--fault)"], [dead, "var(--dead)"]];
      let x = 10;
      const rects = ge.summary.children;
      seg.forEach(([c, color], i) => {
        const ww = (w * c) / n;
        rects[i].setAttribute("x", x.toFixed(1));
        rects[i].setAttribute("width", ww.toFixed(1));
        rects[i].style.fill = color;
        x += ww;
      });
    }
  }
}

function updateEdges() {
  const memo = new Map();
  const live = $("edges-live"), dead = $("edges-dead");
  for (const r of R.edgeEls) {
    const e = r.e;
    const toNode = S.layout.byId.get(e.to);
    const toStatus = S.nodes.get(e.to) || {};
    let on = liveOut(e.feed) && !!originOf(e.feed, memo, 0);
    if (on && toNode && toNode.kind === "switchgear") on = toStatus.source === e.feed;
    // A folded stand-in: live when its own output is.
    if (e.from !== e.feed) on = liveOut(e.from) && !!originOf(e.from, memo, 0);
    const origin = on ? originOf(e.from !== e.feed ? e.from : e.feed, memo, 0) : null;
    const state = on ? "live " + origin : "dead";
    if (state === r.state) continue;
    r.state = state;
    r.p.setAttribute("class", "edge " + state);
    (on ? live : dead).appendChild(r.p);
  }
}

// ── Zoom and pan ──────────────────────────────────────────────────────────
function applyView() {
  const v = S.view;
  $("viewport").setAttribute("transform", `translate(${v.x.toFixed(1)},${v.y.toFixed(1)}) scale(${v.k.toFixed(4)})`);
}
function fit() {
  if (!S.layout) return;
  const box = $("diagram").getBoundingClientRect();
  const L = S.layout;
  const k = Math.max(0.08, Math.min(1.4, box.width / L.width, box.height / L.height));
  S.view = { k, x: (box.width - L.width * k) / 2, y: Math.max(0, (box.height - L.height * k) / 2) };
  // Large sites: readable first, the rest a pan away.
  if (k < 0.45) {
    S.view.k = 0.45;
    S.view.x = (box.width - L.width * 0.45) / 2;
    S.view.y = 8;
  }
  applyView();
}
function zoomAt(factor, cx, cy) {
  const v = S.view;
  const k = Math.max(0.05, Math.min(4, v.k * factor));
  v.x = cx - ((cx - v.x) * k) / v.k;
  v.y = cy - ((cy - v.y) * k) / v.k;
  v.k = k;
  applyView();
}
function initZoom() {
  const d = $("diagram");
  d.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const r = d.getBoundingClientRect();
    zoomAt(Math.exp(-ev.deltaY * 0.0015), ev.clientX - r.left, ev.clientY - r.top);
  }, { passive: false });
  const pointers = new Map();
  let moved = 0, pinch = null;
  d.addEventListener("pointerdown", (ev) => {
    pointers.set(ev.pointerId, { x: ev.clientX, y: ev.clientY });
    moved = 0;
    if (pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      pinch = { dist: Math.hypot(a.x - b.x, a.y - b.y) };
    }
  });
  d.addEventListener("pointermove", (ev) => {
    const p = pointers.get(ev.pointerId);
    if (!p) return;
    const dx = ev.clientX - p.x, dy = ev.clientY - p.y;
    p.x = ev.clientX; p.y = ev.clientY;
    if (pointers.size === 2 && pinch) {
      const [a, b] = [...pointers.values()];
      const dist = Math.hypot(a.x - b.x, a.y - b.y);
      const r = d.getBoundingClientRect();
      zoomAt(dist / (pinch.dist || dist), (a.x + b.x) / 2 - r.left, (a.y + b.y) / 2 - r.top);
      pinch.dist = dist;
      moved += 10;
      return;
    }
    moved += Math.abs(dx) + Math.abs(dy);
    if (moved > 4) {
      if (!d.hasPointerCapture(ev.pointerId)) d.setPointerCapture(ev.pointerId);
      d.classList.add("panning");
      S.view.x += dx; S.view.y += dy;
      applyView();
    }
  });
  const end = (ev) => {
    pointers.delete(ev.pointerId);
    if (pointers.size < 2) pinch = null;
    d.classList.remove("panning");
  };
  d.addEventListener("pointerup", (ev) => {
    const wasClick = moved <= 4 && pointers.size === 1;
    end(ev);
    if (wasClick) onDiagramClick(ev);
  });
  d.addEventListener("pointercancel", end);
  d.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && ev.target.getAttribute && ev.target.getAttribute("data-id")) select(ev.target.getAttribute("data-id"));
  });
  $("zoom-in").addEventListener("click", () => { const r = d.getBoundingClientRect(); zoomAt(1.25, r.width / 2, r.height / 2); });
  $("zoom-out").addEventListener("click", () => { const r = d.getBoundingClientRect(); zoomAt(0.8, r.width / 2, r.height / 2); });
  $("zoom-fit").addEventListener("click", fit);
  $("expand-all").addEventListener("click", () => { S.folded.clear(); S.openGroups.clear(); relayout(true); });
  $("collapse-all").addEventListener("click", () => { foldDefault(true); relayout(true); });
}

function onDiagramClick(ev) {
  const target = document.elementFromPoint(ev.clientX, ev.clientY);
  if (!target) return;
  const fold = target.closest("[data-fold]");
  if (fold) {
    const id = fold.getAttribute("data-fold");
    if (S.folded.has(id)) S.folded.delete(id); else S.folded.add(id);
    relayout(false);
    return;
  }
  const toggle = target.closest("[data-toggle]");
  if (toggle) {
    const k = "closed:" + toggle.getAttribute("data-toggle");
    if (S.openGroups.has(k)) S.openGroups.delete(k); else S.openGroups.add(k);
    relayout(false);
    return;
  }
  const n = target.closest("[data-id]");
  if (n) select(n.getAttribute("data-id"));
}

function foldDefault(force) {
  S.folded.clear();
  if (!S.topo) return;
  if (force || S.topo.nodes.length > FOLD_ABOVE) {
    for (const n of S.topo.nodes) if (n.kind === "ups") S.folded.add(n.id);
  }
}

function relayout(refit) {
  if (!S.topo) return;
  S.layout = layout(S.topo);
  buildDiagram();
  if (refit) fit();
}

/// Brings `id` into view: unfolds what hides it and centres the diagram on it.
function focusNode(id) {
  if (!S.layout || !S.layout.byId.has(id)) return;
  if (!R.nodeEls.has(id) && !R.tileEls.has(id)) {
    let changed = false;
    for (const f of [...S.folded]) {
      const below = new Set();
      const walk = (x) => { for (const c of S.layout.treeKids.get(x) || []) { below.add(c); walk(c); } };
      walk(f);
      const feeds = S.layout.byId.get(id).feeds;
      if (below.has(id) || feeds.some((x) => below.has(x))) { S.folded.delete(f); changed = true; }
    }
    if (changed) relayout(false);
  }
  const b = S.layout.boxes.find((x) => x.id === id || (x.members && x.members.includes(id)));
  if (!b) return;
  const box = $("diagram").getBoundingClientRect();
  const k = Math.max(S.view.k, 0.6);
  S.view = { k, x: box.width / 2 - (b.x + b.w / 2) * k, y: box.height / 2 - (b.y + b.h / 2) * k };
  applyView();
}

// ── Selection and detail panel ────────────────────────────────────────────
function select(id) {
  if (!S.layout || !S.layout.byId.has(id)) return;
  const prev = S.selected;
  S.selected = id;
  for (const x of [prev, id]) {
    if (!x) continue;
    const r = R.nodeEls.get(x);
    if (r) { r.last = ""; r.g.classList.toggle("selected", x === id); }
    const t = R.tileEls.get(x);
    if (t) { t.last = ""; t.t.classList.toggle("selected", x === id); }
  }
  S.nodeHist = { id, t: [], kw: [] };
  const n = S.layout.byId.get(id);
  $("ch-node-title").innerHTML = "";
  $("ch-node-title").append(document.createTextNode(id + " "), Object.assign(document.createElement("small"), { textContent: "[kW]" }));
  fetch("/api/history?node=" + encodeURIComponent(id)).then((r) => r.json()).then((h) => {
    if (S.selected !== id || !h.node) return;
    S.nodeHist = { id, t: h.t_ms.slice(), kw: h.node.power_kw.slice() };
    drawCharts();
  }).catch(() => { /* the next sample fills it */ });
  const s = S.nodes.get(id) || {};
  $("load-kw").value = num(s.power_kw) && isLoad(n.kind) ? fmt(s.power_kw, 1).replace(/,/g, "") : "";
  renderDetail();
  fetchFrame(true);
  drawCharts();
}

const VALUE_ROWS = [
  ["Input voltage", (s) => fmtVolts(s.voltage_in)],
  ["Output voltage", (s) => fmtVolts(s.voltage_out)],
  ["Current", (s) => (num(s.current) ? fmt(s.current, 1) + " A" : "—")],
  ["Power", (s) => fmtKw(s.power_kw) + " kW"],
  ["Load", (s) => (num(s.load_pct) ? fmt(s.load_pct, 1) + " %" : "—")],
  ["Battery", (s) => fmt(s.battery_pct, 1) + " %", "ups"],
  ["Runtime", (s) => fmtDuration(s.runtime_s), "ups"],
  ["Fuel", (s) => fmt(s.fuel_pct, 1) + " %", "generator"],
  ["Source", (s) => s.source || "—", "switchgear"],
  ["Board", (s) => (s.online === true ? "connected" : s.online === false ? "offline" : "—") + (num(s.wifi_rssi) ? " · " + s.wifi_rssi + " dBm" : "")],
  ["Uptime", (s) => fmtDuration(s.uptime)],
];

function renderDetail() {
  const id = S.selected;
  $("detail-empty").hidden = !!id;
  $("detail-body").hidden = !id;
  if (!id || !S.layout) return;
  const n = S.layout.byId.get(id);
  const s = S.nodes.get(id) || {};
  $("d-id").textContent = id;
  $("d-kind").textContent = (KIND_TEXT[n.kind] || n.kind) + (n.feeds.length ? " · fed by " + n.feeds.join(", ") : "");
  const st = s.status || "unknown";
  const chip = $("d-status");
  chip.className = "chip st-" + st;
  chip.textContent = STATUS_TEXT[st] || st;
  const rows = VALUE_ROWS.filter((r) => !r[2] || r[2] === n.kind);
  const tbl = $("d-values");
  if (tbl.rows.length !== rows.length || tbl.dataset.id !== id) {
    tbl.textContent = "";
    tbl.dataset.id = id;
    for (const r of rows) { const tr = tbl.insertRow(); tr.insertCell().textContent = r[0]; tr.insertCell(); }
  }
  rows.forEach((r, i) => { tbl.rows[i].cells[1].textContent = r[1](s); });
  const ctl = S.control;
  const failed = st === "fault";
  $("btn-fail").disabled = !ctl || failed;
  $("btn-restore").disabled = !ctl || !failed;
  $("btn-reset").disabled = !ctl;
  $("load-form").hidden = !isLoad(n.kind);
  $("btn-load").disabled = !ctl;
  $("load-kw").disabled = !ctl;
  $("control-hint").textContent = ctl ? "Commands go to " + id + "/command over MQTT, as from a board's button." : "Read-only: open the dashboard URL printed by `winter-river up` (it carries the operator token) to enable controls.";
}

let frameBusy = false, frameAt = 0;
function fetchFrame(now) {
  const id = S.selected;
  if (!id) return;
  const t = performance.now();
  if (frameBusy || (!now && t - frameAt < 250)) { S.frameDue = true; return; }
  frameBusy = true;
  frameAt = t;
  S.frameDue = false;
  fetch("/api/nodes/" + encodeURIComponent(id) + "/screen").then((r) => {
    if (!r.ok) throw new Error(r.status);
    return r.arrayBuffer();
  }).then((buf) => {
    if (S.selected === id) drawFrame(new Uint8Array(buf));
  }).catch(() => {
    if (S.selected === id) drawFrame(null);
  }).finally(() => { frameBusy = false; });
}

// 128×64, row-major, 16 bytes a row, most significant bit leftmost: the node core's Frame.
function drawFrame(bytes) {
  const c = $("oled");
  const ctx = c.getContext("2d");
  const img = ctx.createImageData(128, 64);
  for (let y = 0; y < 64; y++) {
    for (let x = 0; x < 128; x++) {
      const on = bytes && bytes.length >= 1024 && (bytes[y * 16 + (x >> 3)] & (0x80 >> (x & 7))) !== 0;
      const i = (y * 128 + x) * 4;
      img.data[i] = on ? 190 : 4; img.data[i + 1] = on ? 236 : 6; img.data[i + 2] = on ? 255 : 9; img.data[i + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
  $("oled-caption").textContent = bytes ? "board screen · 128×64 SSD1306, drawn by the node core" : "no status from this board yet";
}

// ── KPIs and header ───────────────────────────────────────────────────────
function setKpi(id, text, cls) {
  const k = $(id);
  k.querySelector(".value span").textContent = text;
  k.className = "kpi" + (cls ? " " + cls : "");
}
function renderKpis() {
  const s = S.system;
  if (!s) return;
  setKpi("kpi-it", fmtKw(s.it_kw), s.it_kw_lost > 0 ? "bad" : "good");
  setKpi("kpi-facility", fmtKw(s.facility_kw), "");
  setKpi("kpi-pue", num(s.pue) ? fmt(s.pue, 2) : "—", "");
  const src = s.source || "none";
  setKpi("kpi-source", src.charAt(0).toUpperCase() + src.slice(1), src === "utility" ? "good" : src === "generator" ? "gen" : "bad");
  setKpi("kpi-runtime", fmtDuration(s.runtime_s), src === "battery" ? (s.runtime_s < 300 ? "bad" : "warn") : "");
  setKpi("kpi-fuel", num(s.fuel_pct) ? fmt(s.fuel_pct, 0) : "—", !num(s.fuel_pct) ? "" : s.fuel_pct < 20 ? "bad" : s.fuel_pct < 50 ? "warn" : "");
  setKpi("kpi-lost", fmtKw(s.it_kw_lost), s.it_kw_lost > 0 ? "bad" : "good");
  $("simtime").textContent = fmtDuration(s.sim_time_s);
  const counts = [];
  const add = (n, label) => { if (n > 0) counts.push(`<span><b>${n}</b> ${label}</span>`); };
  add(s.nodes_ok, "ok"); add(s.nodes_on_battery, "on battery"); add(s.nodes_bypass, "bypass"); add(s.nodes_overload, "overload");
  add(s.nodes_starting, "starting"); add(s.nodes_standby, "standby"); add(s.nodes_cooldown, "cooldown");
  add(s.nodes_fault, "fault"); add(s.nodes_tripped, "tripped"); add(s.nodes_out_of_fuel, "no fuel");
  add(s.nodes_unpowered, "unpowered"); add(s.nodes_offline, "offline");
  $("counts").innerHTML = counts.join("");
}
function renderConn() {
  const c = $("conn");
  let state, text;
  if (!S.streamUp) { state = "down"; text = "Reconnecting…"; }
  else if (!S.link.broker) { state = "down"; text = "Broker unreachable"; }
  else if (S.link.engine === false) { state = "degraded"; text = "Engine offline"; }
  else if (S.link.engine === null || S.link.engine === undefined) { state = "degraded"; text = "Waiting for engine"; }
  else { state = "live"; text = "Live"; }
  c.dataset.state = state;
  $("conn-text").textContent = text;
}

// ── Events ────────────────────────────────────────────────────────────────
function addEvents(list) {
  const ol = $("timeline");
  const empty = ol.querySelector(".empty");
  if (empty) empty.remove();
  for (const e of list) {
    S.events.push(e);
    const li = document.createElement("li");
    li.className = e.severity;
    const sev = document.createElement("span"); sev.className = "sev"; sev.title = e.severity;
    const t = document.createElement("span"); t.className = "t"; t.textContent = "T+" + fmtDuration(e.t);
    const msg = document.createElement("span"); msg.className = "msg";
    const a = document.createElement("a"); a.textContent = e.node_id; a.dataset.id = e.node_id;
    const rest = e.message.startsWith(e.node_id) ? e.message.slice(e.node_id.length) : ": " + e.message;
    msg.append(a, document.createTextNode(rest));
    const wall = document.createElement("span"); wall.className = "wall";
    wall.textContent = new Date(e.wall_ms).toLocaleTimeString([], { hour12: false });
    msg.append(wall);
    li.append(sev, t, msg);
    ol.insertBefore(li, ol.firstChild);
  }
  while (ol.children.length > 300) ol.removeChild(ol.lastChild);
  if (S.events.length > 1000) S.events.splice(0, S.events.length - 1000);
  $("event-count").textContent = S.events.length + " since load";
}

// ── Charts ────────────────────────────────────────────────────────────────
const PALETTE = ["#5aa9ff", "#f5a524", "#34c759", "#e879f9", "#22d3ee", "#fb7185", "#a3e635", "#fbbf24"];
function drawChart(canvas, series, opts) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (!w || !h) return;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const L = 42, Rm = 8, T = 16, B = 18;
  // The last 15 minutes, or less while less has been seen (at least 1 minute).
  const tEnd = opts.tEnd;
  const span = Math.min(HISTORY_S * 1000, Math.max(60000, tEnd - (opts.tFirst || tEnd)));
  const tStart = tEnd - span;
  let lo = Infinity, hi = -Infinity;
  for (const s of series) for (let i = 0; i < s.v.length; i++) {
    if (s.t[i] < tStart || !num(s.v[i])) continue;
    lo = Math.min(lo, s.v[i]); hi = Math.max(hi, s.v[i]);
  }
  if (opts.min !== undefined) lo = Math.min(lo, opts.min);
  if (opts.max !== undefined) hi = Math.max(hi, opts.max);
  if (!isFinite(lo)) { lo = 0; hi = 1; }
  if (hi - lo < 1e-9) { hi = lo + (Math.abs(lo) * 0.1 || 1); if (opts.min === undefined) lo -= (hi - lo) / 2; }
  const pad = (hi - lo) * 0.08;
  if (opts.min === undefined) lo -= pad;
  if (opts.max === undefined) hi += pad;
  const xs = (t) => L + ((t - tStart) / (tEnd - tStart)) * (w - L - Rm);
  const ys = (v) => T + (1 - (v - lo) / (hi - lo)) * (h - T - B);
  ctx.font = "11px system-ui, sans-serif";
  ctx.strokeStyle = "#223042"; ctx.fillStyle = "#8696a8"; ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4, y = ys(v);
    ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(w - Rm, y); ctx.stroke();
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    ctx.fillText(Math.abs(hi - lo) < 5 ? v.toFixed(2) : Math.round(v).toLocaleString("en-US"), L - 5, y);
  }
  ctx.textAlign = "center"; ctx.textBaseline = "alphabetic";
  for (let i = 3; i >= 0; i--) {
    const ago = (span * i) / 3 / 1000;
    const label = i === 0 ? "now" : ago >= 120 ? "−" + Math.round(ago / 60) + " min" : "−" + Math.round(ago) + " s";
    ctx.textAlign = i === 3 ? "left" : i === 0 ? "right" : "center";
    ctx.fillText(label, xs(tEnd - ago * 1000), h - 4);
  }
  series.forEach((s) => {
    ctx.strokeStyle = s.color; ctx.lineWidth = 1.8; ctx.beginPath();
    let pen = false;
    for (let i = 0; i < s.v.length; i++) {
      if (s.t[i] < tStart || !num(s.v[i])) { pen = false; continue; }
      const x = xs(s.t[i]), y = ys(s.v[i]);
      if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      pen = true;
    }
    ctx.stroke();
  });
  let lx = L + 4;
  ctx.textAlign = "left"; ctx.textBaseline = "middle";
  for (const s of series.slice(0, 6)) {
    ctx.fillStyle = s.color; ctx.fillRect(lx, 4, 10, 3);
    ctx.fillStyle = "#b8c4d2";
    const last = s.v.length ? s.v[s.v.length - 1] : null;
    const label = s.name + (num(last) ? " " + (Math.abs(last) < 10 ? last.toFixed(2) : Math.round(last).toLocaleString("en-US")) : "");
    ctx.fillText(label, lx + 14, 6);
    lx += ctx.measureText(label).width + 28;
  }
  if (!series.some((s) => s.v.some(num))) {
    ctx.fillStyle = "#8696a8"; ctx.textAlign = "center"; ctx.fillText(opts.empty || "no data yet", w / 2, h / 2);
  }
}
let chartsDue = false;
function drawCharts() {
  chartsDue = false;
  const h = S.hist;
  const tEnd = h.t.length ? h.t[h.t.length - 1] : Date.now();
  const tFirst = h.t.length ? h.t[0] : tEnd;
  drawChart($("ch-power"), [
    { name: "facility", color: "#f5a524", t: h.t, v: h.fac },
    { name: "IT", color: "#5aa9ff", t: h.t, v: h.it },
  ], { tEnd, tFirst, min: 0 });
  drawChart($("ch-pue"), [{ name: "PUE", color: "#e879f9", t: h.t, v: h.pue }], { tEnd, tFirst, empty: "no PUE (no IT load)" });
  const bat = [...h.bat.entries()];
  let batSeries;
  if (bat.length <= 6) {
    batSeries = bat.map(([id, v], i) => ({ name: id, color: PALETTE[i % PALETTE.length], t: h.t, v }));
  } else {
    const min = h.t.map((_, i) => Math.min(...bat.map(([, v]) => (num(v[i]) ? v[i] : Infinity))));
    batSeries = [{ name: "lowest of " + bat.length + " UPS", color: PALETTE[1], t: h.t, v: min.map((x) => (isFinite(x) ? x : null)) }];
  }
  drawChart($("ch-battery"), batSeries, { tEnd, tFirst, min: 0, max: 100, empty: "no UPS" });
  const nh = S.nodeHist;
  drawChart($("ch-node"), nh.id ? [{ name: nh.id, color: "#34c759", t: nh.t, v: nh.kw }] : [], { tEnd, tFirst, min: 0, empty: "select a component" });
}

function pushSample(sm) {
  const h = S.hist;
  const cap = (a) => { if (a.length > HISTORY_S) a.splice(0, a.length - HISTORY_S); };
  h.t.push(sm.t_ms); h.it.push(sm.it_kw); h.fac.push(sm.facility_kw); h.pue.push(sm.pue);
  for (const [id, arr] of h.bat) arr.push(sm.battery_pct ? sm.battery_pct[id] : null);
  for (const id in sm.battery_pct || {}) if (!h.bat.has(id)) h.bat.set(id, h.t.map((_, i) => (i === h.t.length - 1 ? sm.battery_pct[id] : null)));
  [h.t, h.it, h.fac, h.pue, ...h.bat.values()].forEach(cap);
  const nh = S.nodeHist;
  if (nh.id) {
    const s = S.nodes.get(nh.id) || {};
    nh.t.push(sm.t_ms); nh.kw.push(num(s.power_kw) ? s.power_kw : null);
    cap(nh.t); cap(nh.kw);
  }
  chartsDue = true;
}

async function loadHistory() {
  try {
    const h = await (await fetch("/api/history")).json();
    S.hist = { t: h.t_ms, it: h.it_kw, fac: h.facility_kw, pue: h.pue, bat: new Map(Object.entries(h.battery_pct || {})) };
    drawCharts();
  } catch (_) { /* samples will fill it */ }
}

// ── Live stream ───────────────────────────────────────────────────────────
async function loadTopology(version) {
  try {
    const r = await fetch("/api/topology");
    if (!r.ok) { S.topo = null; $("waiting").hidden = false; return; }
    const topo = await r.json();
    if (version !== S.topoVersion) return;
    S.topo = topo;
    $("site").textContent = topo.site + " · " + topo.nodes.length + " nodes";
    foldDefault(false);
    relayout(true);
    if (S.selected && !S.layout.byId.has(S.selected)) S.selected = null;
    // Start on the first UPS: the component whose screen tells the most.
    if (!S.selected) {
      const ups = topo.nodes.find((n) => n.kind === "ups");
      if (ups) select(ups.id);
    }
    renderDetail();
    loadHistory();
  } catch (e) {
    $("waiting").hidden = false;
  }
}

function onDelta(d) {
  if (d.topology !== S.topoVersion) {
    S.topoVersion = d.topology;
    if (d.topology > 0) loadTopology(d.topology);
  }
  if (d.nodes) for (const n of d.nodes) {
    S.nodes.set(n.node_id, n);
    S.dirty.add(n.node_id);
  }
  if (d.system) { S.system = d.system; }
  if (d.link) { S.link = d.link; }
  if (d.events) {
    const last = S.events.length ? S.events[S.events.length - 1].seq : 0;
    const fresh = d.events.filter((e) => e.seq > last);
    if (d.full && d.events.length && d.events[0].seq <= last) { /* reconnect: keep what we have */ }
    if (fresh.length) addEvents(fresh);
  }
  if (d.sample) pushSample(d.sample);
  schedule();
}

let rafPending = false;
function schedule() {
  if (rafPending) return;
  rafPending = true;
  requestAnimationFrame(() => {
    rafPending = false;
    if (S.layout && S.dirty.size) {
      for (const id of S.dirty) { updateNode(id); updateTile(id); }
      updateGroups();
      updateEdges();
      if (S.selected && S.dirty.has(S.selected)) { renderDetail(); fetchFrame(false); }
      S.dirty.clear();
    }
    if (S.frameDue) fetchFrame(false);
    renderKpis();
    renderConn();
    if (chartsDue) drawCharts();
  });
}

function connect() {
  const es = new EventSource("/api/live");
  es.addEventListener("open", () => { S.streamUp = true; renderConn(); });
  es.addEventListener("delta", (ev) => {
    S.streamUp = true;
    try { onDelta(JSON.parse(ev.data)); } catch (e) { console.warn("bad live message", e); }
  });
  es.addEventListener("error", () => { S.streamUp = false; renderConn(); });
}

// ── Start ─────────────────────────────────────────────────────────────────
function init() {
  initToken();
  initZoom();
  $("btn-fail").addEventListener("click", () => S.selected && sendCommand(S.selected, "set_fault", { state: true }));
  $("btn-restore").addEventListener("click", () => S.selected && sendCommand(S.selected, "set_fault", { state: false }));
  $("btn-reset").addEventListener("click", () => S.selected && sendCommand(S.selected, "reset", {}));
  $("load-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const kw = parseFloat($("load-kw").value);
    if (!(kw >= 0)) { toast("Demand must be a number ≥ 0 kW", true); return; }
    if (S.selected) sendCommand(S.selected, "set_load", { kw });
  });
  $("timeline").addEventListener("click", (ev) => {
    const a = ev.target.closest("a[data-id]");
    if (a) { focusNode(a.dataset.id); select(a.dataset.id); }
  });
  const li = document.createElement("li"); li.className = "empty"; li.textContent = "No events yet. Fail a component to see the chain react.";
  $("timeline").appendChild(li);
  window.addEventListener("resize", () => { chartsDue = true; schedule(); });
  drawFrame(null);
  renderConn();
  connect();
  setInterval(() => { if (S.frameDue) schedule(); }, 300);
}

// For tests and the curious: the dashboard's state.
window.winterRiver = { state: S, select, sendCommand, focus: focusNode };
init();
