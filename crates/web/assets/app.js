// Winter River dashboard. Plain JavaScript, no dependencies: the live stream
// (/api/live, server-sent events, at most 10 pushes a second), a one-line diagram
// laid out from the topology, the selected board's OLED frame as the node core
// draws it (/api/nodes/{id}/screen), charts and the event timeline.
//
// The page knows no kind, field, status word or command of its own: labels, roles,
// summary lines, panel rows, units and decimals, tones and controls all come from
// the protocol's shared description, GET /api/schema (docs/api.md). A kind added to
// the protocol shows here with no change to this file. A live drill's panel (the
// instructor's controls, the trainees' checklist) is drawn from the engine's
// DrillStatus on the same stream, its words from the schema's `drill`. Rooms (kinds
// of role `thermal`) are zones drawn round the nodes that name them, each with a
// tile of its air temperature, coloured by the band of its ASHRAE class (the
// limits are the schema's `classes`).
"use strict";

const SVGNS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
const HISTORY_S = 900;

// Geometry of the diagram [px in diagram space].
const NODE_W = 172, NODE_H = 66, COL_W = 192, ROW_H = 100;
/// A room's tile, and how far its zone reaches round the boxes in it.
const ROOM_W = 252, ZONE_PAD = 9, ZONE_PAD_TOP = 17;
const TILE = 15, TILE_GAP = 3, GROUP_COLS = 10, GROUP_MIN_W = 176;
/// Above this many nodes the diagram starts with PDUs and racks folded into their UPS.
const FOLD_ABOVE = 250;
/// Sites this small need no folding controls.
const FOLD_CONTROLS_ABOVE = 30;

// The Status fields the diagram itself reads (docs/protocol.md: every kind reports
// them): the two readings a box headlines, and the voltage that says a node hands
// power downstream. Their units and decimals come from the schema.
// A room's air temperature and a server's inlet are read against the room's class.
const F = { power: "power_kw", load: "load_pct", out: "voltage_out", air: "temperature_c", inlet: "inlet_c" };
// The SystemStatus field of the temperature chart: the site's highest server inlet.
const SYS_INLET = "max_inlet_c";
// Fields that are the panel's header, not rows: identity and status word; and the
// board's message counter, which is not a reading.
const NOT_ROWS = new Set(["node_id", "kind", "status", "seq"]);
// Where a node's energy comes from when it is live with no live feed: its own store.
const STORED = "battery";

const S = {
  schema: null,
  clockOffset: 0,
  control: false,
  /// The token may inject faults and control drills; `roles`: this dashboard has an
  /// instructor's token apart from the operators' (GET /api/session).
  instructor: false,
  roles: false,
  /// The engine's DrillStatus (`{state: "none"}` before any), and what the drill
  /// clock is shown from between its pushes.
  drill: { state: "none" },
  drillClock: null,
  topoVersion: -1,
  topo: null,
  nodes: new Map(),
  system: null,
  link: { broker: false, engine: null },
  streamUp: false,
  events: [],
  /// Commands this browser sent, waiting for their answer event.
  pending: [],
  hist: { t: [], it: [], fac: [], pue: [], bat: new Map(), inlet: [], air: new Map() },
  /// The selected component's series: its power, a room's air (`field`).
  nodeHist: { id: null, field: "power_kw", t: [], kw: [] },
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
// The token lives in an HttpOnly cookie this script never sees: `/?token=…` is
// exchanged for it by the server (a redirect, so the token is gone from the address
// bar before this page loads), and the badge's prompt signs in with POST
// /api/session. Requests carry the cookie by themselves.
function initToken() {
  // Earlier versions kept the token in localStorage, where any script could read it.
  try { localStorage.removeItem("wr-token"); } catch (_) { /* private mode */ }
  checkSession();
  $("mode").addEventListener("click", async () => {
    const t = prompt(S.control ? "Token (empty to become read-only):" : "Operator's or instructor's token (printed by `winter-river up`):", "");
    if (t === null) return;
    try {
      const r = await fetch("/api/session", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token: t.trim() }) });
      if (!r.ok) {
        let why = r.statusText;
        try { why = (await r.json()).error || why; } catch (_) { /* not JSON */ }
        toast("Refused (" + r.status + "): " + why, true);
      }
    } catch (_) { toast("Not sent: the dashboard is unreachable", true); }
    checkSession();
  });
}

async function checkSession() {
  let session = {};
  try {
    const r = await fetch("/api/session");
    if (r.ok) session = await r.json();
  } catch (_) { session = {}; }
  const control = session.control === true;
  S.control = control;
  S.instructor = control && session.instructor === true;
  S.roles = session.roles === true;
  const m = $("mode");
  // With one token for both (no instructor's token), the badge says Operator.
  const instructor = S.instructor && S.roles;
  m.textContent = !control ? "Read-only" : instructor ? "Instructor" : "Operator";
  m.classList.toggle("operator", control && !instructor);
  m.classList.toggle("instructor", instructor);
  m.title = control ? "Controls enabled (click to change the token)" : "Controls need the operator token: click to enter it";
  for (const b of $("site-commands").querySelectorAll("button")) b.disabled = !control;
  renderDetail();
  renderDrill();
}
/// Whether this browser may send command `name`: the operator's commands with
/// control, fault injection (`instructor` in the schema) with the instructor's part.
const maySend = (name) => S.control && (!(D.commands.get(name) || {}).instructor || S.instructor);

/// How long this browser waits for the engine's answer to a command it sent [ms]:
/// the event for that node naming the command (a refusal, or what it did).
const ANSWER_MS = 5000;

async function sendCommand(id, command, params) {
  const headers = { "Content-Type": "application/json" };
  // Registered before the request: the answer may come on the live stream before
  // the response does. Only a command the engine answers (the schema says which)
  // waits for one.
  const pending = { id, command, sinceSeq: lastEventSeq(), at: performance.now(), answers: 0 };
  if ((D.commands.get(command) || {}).answered) S.pending.push(pending);
  const drop = () => { S.pending = S.pending.filter((p) => p !== pending); clearPendingMarks(); };
  let r;
  try {
    r = await fetch("/api/nodes/" + encodeURIComponent(id) + "/command", {
      method: "POST", headers, body: JSON.stringify({ command, params }),
    });
  } catch (e) {
    drop();
    toast("Not sent: the dashboard is unreachable", true);
    return false;
  }
  if (r.ok) {
    toast(commandLabel(command) + " sent to " + id);
    return true;
  }
  drop();
  let why = r.statusText;
  try { why = (await r.json()).error || why; } catch (_) { /* not JSON */ }
  toast("Refused (" + r.status + "): " + why, true);
  return false;
}
const commandLabel = (name) => (D.commands.get(name) || { label: name }).label;
const lastEventSeq = () => (S.events.length ? S.events[S.events.length - 1].seq : 0);
/// A site-wide command goes to `system` and is answered by the nodes it acts on.
const isSite = (id) => id === "system";

/// An event that answers a command this browser sent: the same command, for that
/// node (for a site-wide command, any node), heard after it was sent. A refusal
/// shows its reason next to the controls; anything else what was done. Other
/// viewers see the event in the timeline only.
function matchAnswers(list) {
  for (const e of list) {
    if (!e.command) continue;
    const p = S.pending.find((q) => e.seq > q.sinceSeq && e.command === q.command && (isSite(q.id) || e.node_id === q.id));
    if (!p) continue;
    p.answers += 1;
    if (!isSite(p.id)) S.pending = S.pending.filter((q) => q !== p);
    showAnswer(e, p);
  }
}
function showAnswer(e, p) {
  const box = $("answer");
  const refused = e.event === "refused";
  // A site-wide command has several answers: they add up until the next command.
  const keep = isSite(p.id) && p.answers > 1;
  if (!keep) box.textContent = "";
  box.hidden = false;
  box.className = "answer " + (refused ? "refused" : "done");
  box.dataset.node = e.node_id;
  box.dataset.command = e.command;
  const line = document.createElement("div");
  line.className = refused ? "refused" : "done";
  line.dataset.node = e.node_id;
  const head = Object.assign(document.createElement("b"), { textContent: e.node_id + " · " + commandLabel(e.command) + (refused ? " refused" : "") });
  const reason = Object.assign(document.createElement("span"), { className: "reason", textContent: refused ? (e.reason || e.message) : e.message });
  line.append(head, document.createTextNode(": "), reason);
  box.append(line);
  clearPendingMarks();
  if (S.selected) renderDetail();
}
/// Commands unanswered after ANSWER_MS: said so, once.
function expireAnswers() {
  const now = performance.now();
  for (const p of S.pending.filter((q) => now - q.at > ANSWER_MS)) {
    S.pending = S.pending.filter((q) => q !== p);
    if (p.answers) continue;
    const box = $("answer");
    box.hidden = false;
    box.className = "answer none";
    box.textContent = p.id + " · " + commandLabel(p.command) + ": no answer from the engine within " + ANSWER_MS / 1000 + " s";
    clearPendingMarks();
  }
}
function clearPendingMarks() {
  const waiting = new Set(S.pending.map((p) => p.id + "|" + p.command));
  const id = $("commands").dataset.node;
  for (const row of $("commands").querySelectorAll(".selector")) {
    if (waiting.has(id + "|" + row.dataset.command)) continue;
    for (const b of row.querySelectorAll(".pending")) b.classList.remove("pending");
  }
}

// ── Site-wide commands (EPO) ─────────────────────────────────────────────
/// A button for each command that applies to the site as a whole, sent to
/// `system` as the API takes site-wide commands; each asks for a confirming click.
function buildSiteControls() {
  const box = $("site-commands");
  box.textContent = "";
  for (const c of S.schema.commands) {
    if (c.applies_to !== "site" || c.params.length) continue;
    const b = Object.assign(document.createElement("button"), { type: "button", className: "site danger", textContent: c.label, id: "site-" + c.name, disabled: !S.control });
    b.addEventListener("click", () => askConfirm(c));
    box.append(b);
  }
  $("confirm-no").addEventListener("click", closeConfirm);
  $("confirm").addEventListener("keydown", (ev) => { if (ev.key === "Escape") closeConfirm(); });
}
let confirming = null;
function askConfirm(c) {
  confirming = c;
  $("confirm-text").textContent = "Send “" + c.label + "” to the whole site?";
  $("confirm-yes").textContent = "Yes: " + c.label;
  $("confirm").hidden = false;
  $("confirm-no").focus();
}
function closeConfirm() {
  confirming = null;
  $("confirm").hidden = true;
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

// ── The shared description (GET /api/schema) ──────────────────────────────
const D = { kinds: new Map(), states: new Map(), fields: new Map(), system: new Map(), commands: new Map(), kindOnly: new Set(), modes: new Map(), breakers: new Map(), classes: new Map(), bands: new Map() };
function useSchema(schema) {
  S.schema = schema;
  for (const k of schema.kinds) D.kinds.set(k.name, k);
  for (const st of schema.states) D.states.set(st.word, st);
  for (const f of schema.status_fields) D.fields.set(f.name, f);
  for (const f of schema.system_fields) D.system.set(f.name, f);
  for (const c of schema.commands) D.commands.set(c.name, c);
  for (const m of schema.modes || []) D.modes.set(m.word, m);
  for (const b of schema.breakers || []) D.breakers.set(b.word, b);
  for (const c of schema.classes || []) D.classes.set(c.word, c);
  for (const b of schema.bands || []) D.bands.set(b.word, b);
  // A field some kind lists among its extras belongs to those kinds only; the
  // others every kind reports.
  for (const k of schema.kinds) for (const f of k.extra_fields) D.kindOnly.add(f);
}
const kindOf = (name) => D.kinds.get(name) || { name, label: name, role: "conversion", extra_fields: [], commands: [], modes: [], summary: name };
const kindLabel = (name) => kindOf(name).label;
const isLoad = (name) => kindOf(name).role === "load";
/// A room: no feeds, no power of its own (its Status has no electrical fields).
const isThermal = (name) => kindOf(name).role === "thermal";
const stateOf = (word) => D.states.get(word) || { word, label: (word || "unknown").toUpperCase(), tone: "off" };
const toneOf = (word) => (word ? stateOf(word).tone : "none");
/// Whether nodes of `kind` report Status field `name`. A room reports no common
/// measurement (the numbers and the breaker every electrical kind reports).
function hasField(kind, name) {
  if (kindOf(kind).extra_fields.includes(name)) return true;
  if (D.kindOnly.has(name)) return false;
  const f = D.fields.get(name);
  return !(isThermal(kind) && f && (f.type === "number" || f.type === "breaker"));
}

// ── Rooms: class bands ────────────────────────────────────────────────────
/// Where temperature `c` is against class `cls` (the schema's limits): above the
/// allowable maximum `critical`, above the recommended one `high`, else `normal`
/// — the protocol's Band, shown in its tone.
function bandOf(cls, c) {
  if (!cls || !num(c)) return null;
  if (c > cls.allowable_max_c) return "critical";
  if (c > cls.recommended_max_c) return "high";
  return "normal";
}
/// The tone a band is shown in (the schema's `bands`).
const bandTone = (band) => (D.bands.get(band) || {}).tone || "none";
/// What a band means, in the class's own numbers.
function bandText(cls, band) {
  const unit = (D.fields.get(F.air) || {}).unit || "";
  if (!cls || !band) return "";
  if (band === "critical") return "> " + fmt(cls.allowable_max_c, 0) + " " + unit + " allowable";
  if (band === "high") return "> " + fmt(cls.recommended_max_c, 0) + " " + unit + " recommended";
  return "≤ " + fmt(cls.recommended_max_c, 0) + " " + unit + " recommended";
}
/// A room's class (its topology `class`), with the schema's limits.
const classOfRoom = (id) => { const n = S.layout && S.layout.byId.get(id); return n ? D.classes.get(n.class) || null : null; };
/// The worst band of the site's server inlets, each against its own room's class.
function worstInletBand() {
  if (!S.layout) return null;
  const order = ["normal", "high", "critical"];
  let worst = null;
  for (const [id, room] of S.layout.inlets) {
    const s = S.nodes.get(id);
    const band = s ? bandOf(classOfRoom(room), s[F.inlet]) : null;
    if (band && order.indexOf(band) > order.indexOf(worst)) worst = band;
  }
  return worst;
}
/// The Status field of a type (`mode`, `breaker`): the one every kind that has
/// such a thing reports.
const fieldOfType = (type) => (S.schema ? S.schema.status_fields.find((f) => f.type === type) : null);
const fieldValue = (type, s) => { const f = fieldOfType(type); return f ? s[f.name] : undefined; };
/// The node's mode when it is not its kind's normal position (a UPS on bypass, an
/// ATS in manual, a generator in OFF): the mode's description, else null.
function offNormal(s) {
  const m = D.modes.get(fieldValue("mode", s));
  return m && !m.normal ? m : null;
}
/// The normal position of a kind's selector (`auto`, `normal`), for "not in auto".
const normalModeOf = (kind) => (kindOf(kind).modes || []).map((w) => D.modes.get(w)).find((m) => m && m.normal) || null;
/// What a person reads for a node that is not in its normal position.
const notNormalText = (kind, m) => { const n = normalModeOf(kind); return "not in " + (n ? n.label.toLowerCase() : "normal") + ": " + m.label; };
/// The field of a switch that names the feed in use (its extra of type node_id).
function feedInUseField(kind) {
  const k = kindOf(kind);
  if (k.role !== "switch") return null;
  return k.extra_fields.find((f) => (D.fields.get(f) || {}).type === "node_id") || null;
}

// ── Formatting ────────────────────────────────────────────────────────────
const num = (v) => typeof v === "number" && isFinite(v);
/// The protocol's one rounding rule for what a person reads (round_for_display):
/// half away from zero at `decimals` places, as round(v · 10^d) / 10^d in double
/// precision — the same steps as the Rust, so the panel, the diagram and a board's
/// screen agree (a UPS at 99.96 % reads 100.0 everywhere).
function roundForDisplay(v, decimals) {
  const scale = 10 ** Math.min(decimals, 15);
  const scaled = v * scale;
  const truncated = Math.trunc(scaled);
  const rounded = Math.abs(scaled - truncated) >= 0.5 ? truncated + Math.sign(scaled) : truncated;
  // `+ 0` turns -0 into 0, as the Rust's integer round trip does.
  return Math.abs(scaled) >= 9e15 ? v : rounded / scale + 0;
}
function fmt(v, digits) {
  if (!num(v)) return "—";
  return roundForDisplay(v, digits).toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
function fmtDuration(s) {
  if (!num(s)) return "—";
  if (s >= 359999) return "> 99 h";
  s = Math.max(0, roundForDisplay(s, 0));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  if (h > 0) return h + " h " + String(m).padStart(2, "0") + " m";
  return m + ":" + String(r).padStart(2, "0");
}
/// A field's value as a person reads it: rounded at the field's decimals, with its
/// unit; seconds as a duration. `withUnit` false leaves the unit out (a KPI shows
/// it apart).
function fmtValue(f, v, withUnit = true) {
  if (v === undefined || v === null) return "—";
  if (!f) return String(v);
  if (f.type === "number" || f.type === "integer") {
    if (!num(v)) return "—";
    if (f.unit === "s") return fmtDuration(v);
    const text = fmt(v, f.decimals);
    return withUnit && f.unit ? text + " " + f.unit : text;
  }
  if (f.type === "mode") return (D.modes.get(v) || { label: String(v) }).label;
  if (f.type === "breaker") return (D.breakers.get(v) || { label: String(v) }).label;
  return String(v);
}
const fmtField = (name, s) => fmtValue(D.fields.get(name), s[name]);
/// A kind's one-line summary: its template with each `{field}` formatted.
const summaryOf = (kind, s) => kindOf(kind).summary.replace(/\{([a-z0-9_]+)\}/g, (_, name) => fmtField(name, s));
/// The kind's numeric fields of its own that its summary does not show, as the
/// node reports them now ("inlet 24.3 °C", "heat removed 80.0 kW").
function extrasOf(kind, s) {
  const k = kindOf(kind);
  return k.extra_fields
    .filter((name) => !k.summary.includes("{" + name + "}") && (D.fields.get(name) || {}).type === "number" && num(s[name]))
    .map((name) => D.fields.get(name).label.toLowerCase() + " " + fmtField(name, s));
}
const cap = (t) => t.charAt(0).toUpperCase() + t.slice(1);

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
  // Rooms are not part of the power chain: they are laid out after it.
  const infra = nodes.filter((n) => !isLoad(n.kind) && !isThermal(n.kind)).map((n) => n.id);

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
  const groupKey = (n) => n.kind + "|" + n.feeds.join(",");
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
      foldable: (treeKids.get(id) || []).length > 0 && kindOf(n.kind).role !== "source", hiddenBelow });
  }

  // Loads: grouped by their (visible) feeds and kind; hidden when every feed is.
  const groups = new Map();
  for (const n of nodes) {
    if (!isLoad(n.kind)) continue;
    const visibleFeeds = n.feeds.filter((f) => !hidden.has(f));
    const key = groupKey(n);
    if (!groups.has(key)) groups.set(key, { key, kind: n.kind, feeds: n.feeds.slice(), members: [], visible: visibleFeeds.length > 0, level: loadLevel(n) });
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
      const h = groupHead(g.kind) + 4 + (open ? rows * (TILE + TILE_GAP) + 6 : 8);
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
  const rooms = placeRooms(nodes, boxes);

  // Edges between visible stand-ins, once each.
  const boxOf = new Map();
  for (const b of boxes) {
    if (b.type === "node") boxOf.set(b.id, b);
    else if (b.type === "group") for (const m of b.members) boxOf.set(m, b);
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
  // The nodes with an inlet that name a room, each with its room (the inlet KPI's tone).
  const inlets = nodes.filter((n) => n.room && byId.has(n.room) && hasField(n.kind, F.inlet)).map((n) => [n.id, n.room]);
  return { boxes, edges, byId, width: width + 40, height: height + 30, sideSpans, treeKids, hidden, rooms, inlets };
}

/// Rooms: a tile each in a row of their own under the diagram, under the boxes of
/// the nodes that name the room, and a zone round those boxes and the tile — per
/// row a band over the boxes in the room (split where a box of another room or
/// none stands between them), bands of adjacent rows joined. Returns each room's
/// zone as rectangles.
function placeRooms(nodes, boxes) {
  const rooms = nodes.filter((n) => isThermal(n.kind));
  if (!rooms.length) return [];
  const roomOf = new Map(nodes.filter((n) => n.room).map((n) => [n.id, n.room]));
  const boxRoom = (b) => {
    if (b.type === "node") return roomOf.get(b.id) || null;
    if (b.type === "group") { const r = roomOf.get(b.members[0]); return r && b.members.every((m) => roomOf.get(m) === r) ? r : null; }
    return b.type === "room" ? b.id : null;
  };
  let bottom = 0;
  for (const b of boxes) bottom = Math.max(bottom, b.y + b.h);
  const y = bottom + 40;
  const tiles = rooms.map((r) => {
    let lo = Infinity, hi = -Infinity;
    for (const b of boxes) if (boxRoom(b) === r.id) { lo = Math.min(lo, b.x); hi = Math.max(hi, b.x + b.w); }
    return { type: "room", id: r.id, kind: r.kind, w: ROOM_W, h: NODE_H, y, cx: isFinite(lo) ? (lo + hi) / 2 : 0 };
  });
  tiles.sort((a, b) => a.cx - b.cx);
  let cursor = -Infinity;
  for (const t of tiles) { t.x = Math.max(t.cx - t.w / 2, cursor + 18, 20); cursor = t.x + t.w; }
  for (const t of tiles) boxes.push(t);
  // Per row, in x order: runs of boxes of one room.
  const rows = new Map();
  for (const b of boxes) { if (!rows.has(b.y)) rows.set(b.y, []); rows.get(b.y).push(b); }
  const bands = new Map(rooms.map((r) => [r.id, []]));
  for (const row of rows.values()) {
    row.sort((a, b) => a.x - b.x);
    let run = null;
    for (const b of row) {
      const r = boxRoom(b);
      if (run && run.room === r) { run.x1 = b.x + b.w + ZONE_PAD; run.bottom = Math.max(run.bottom, b.y + b.h + ZONE_PAD); continue; }
      run = r ? { room: r, x0: b.x - ZONE_PAD, x1: b.x + b.w + ZONE_PAD, top: b.y - ZONE_PAD_TOP, bottom: b.y + b.h + ZONE_PAD } : null;
      if (run && bands.has(r)) bands.get(r).push(run);
    }
  }
  // A band reaches down to the bands of the next row of its room, so the zone is
  // one shape where its rows follow each other.
  const zones = [];
  for (const [id, list] of bands) {
    list.sort((a, b) => a.top - b.top || a.x0 - b.x0);
    for (const a of list) {
      const below = list.filter((b) => b.top >= a.bottom - 1 && b.top - a.bottom < ROW_H * 0.6 && b.x0 < a.x1 && b.x1 > a.x0);
      if (below.length) a.bottom = Math.min(...below.map((b) => b.top)) + 1;
    }
    zones.push({ id, bands: list });
  }
  return zones;
}

/// The numeric fields of a kind's own (a server's inlet, a cooling unit's heat
/// removed): a group of such loads sums or tops them in a third header line.
const ownNumbers = (kind) => kindOf(kind).extra_fields.filter((name) => (D.fields.get(name) || {}).type === "number");
/// Height of a group's header [px].
const groupHead = (kind) => (ownNumbers(kind).length ? 54 : 40);

// ── Diagram rendering ─────────────────────────────────────────────────────
function el(name, attrs, parent) {
  const e = document.createElementNS(SVGNS, name);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}

const R = { nodeEls: new Map(), tileEls: new Map(), groupEls: [], edgeEls: [], roomEls: new Map() };

function buildDiagram() {
  const L = S.layout;
  const boxesG = $("boxes"), live = $("edges-live"), dead = $("edges-dead"), zonesG = $("rooms");
  boxesG.textContent = ""; live.textContent = ""; dead.textContent = ""; zonesG.textContent = "";
  R.nodeEls.clear(); R.tileEls.clear(); R.groupEls = []; R.edgeEls = []; R.roomEls.clear();
  // Zones first: behind the lines and the boxes. Each band is drawn twice, stroked
  // then filled, so that the fills hide the strokes inside the zone and only its
  // outline shows.
  const zoneEls = new Map();
  for (const z of L.rooms) {
    const g = el("g", { class: "zone tone-none", "data-room": z.id }, zonesG);
    const edge = el("g", { class: "zone-edge" }, g), fill = el("g", { class: "zone-fill" }, g);
    for (const band of z.bands) {
      const r = { x: band.x0, y: band.top, width: band.x1 - band.x0, height: band.bottom - band.top, rx: 10 };
      el("rect", r, edge);
      el("rect", r, fill);
    }
    const top = z.bands[0];
    if (top) {
      const label = el("text", { class: "zone-label", x: top.x0 + 8, y: top.top + 12 }, g);
      label.textContent = z.id;
    }
    zoneEls.set(z.id, g);
  }
  for (const e of L.edges) {
    const a = e.fromBox, b = e.toBox;
    const x1 = a.x + a.w / 2, y1 = a.y + a.h;
    // Enter straight below the feed when it is above the box, else at the near end.
    let x2 = Math.max(b.x + 14, Math.min(b.x + b.w - 14, x1));
    if (e.count > 1 && Math.abs(x2 - (b.x + b.w / 2)) < 8) x2 = b.x + (b.w * (e.index + 1)) / (e.count + 1);
    const y2 = b.y;
    // Where its first feed comes in: the node's own breaker is drawn there.
    if (e.index === 0 && b.type === "node") b.entry = x2 - b.x;
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
    else if (b.type === "room") buildRoom(b, boxesG, zoneEls.get(b.id));
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
  // The node's own isolating device, drawn only when it is not closed (CSS, by the
  // node's data-breaker): a gap in the line with the blade swung open, and a
  // padlock and tag when locked out. Where the feed comes in; a source's at its
  // output.
  const source = kindOf(b.kind).role === "source";
  const bx = source ? b.w / 2 : b.entry !== undefined ? b.entry : b.w / 2;
  const by = source ? b.h + 11 : -11;
  const brk = el("g", { class: "breaker", transform: `translate(${bx},${by})` }, g);
  el("rect", { class: "gap", x: -6, y: -8, width: 12, height: 16 }, brk);
  el("circle", { class: "pin", cx: 0, cy: 7, r: 1.8 }, brk);
  el("circle", { class: "pin", cx: 0, cy: -7, r: 1.8 }, brk);
  el("line", { class: "blade", x1: 0, y1: 7, x2: -7, y2: -5 }, brk);
  const lock = el("g", { class: "lock", transform: "translate(9,-8)" }, brk);
  el("path", { class: "shackle", d: "M2,6 V3.5 a3,3 0 0 1 6,0 V6" }, lock);
  el("rect", { class: "body", x: 0, y: 6, width: 10, height: 8, rx: 1.5 }, lock);
  el("path", { class: "tag", d: "M12,8 h7 l3,3 l-3,3 h-7 z" }, lock);
  const brkTitle = el("title", {}, brk);
  // The "not in auto" badge: the mode a UPS, ATS or generator is in when that is
  // not its normal position.
  const badge = el("g", { class: "mode-badge", transform: "translate(8,-6)" }, g);
  const badgeBox = el("rect", { class: "badgebox", x: 0, y: 0, width: 40, height: 12, rx: 3 }, badge);
  const badgeText = el("text", { class: "badgetext", x: 4, y: 9 }, badge);
  const badgeTitle = el("title", {}, badge);
  let fold = null;
  if (b.foldable && (S.folded.has(b.id) || S.topo.nodes.length > FOLD_CONTROLS_ABOVE)) {
    const folded = S.folded.has(b.id);
    fold = el("g", { class: "foldbtn", transform: `translate(${b.w / 2 - 40},${b.h + 3})`, "data-fold": b.id }, g);
    el("rect", { class: "fold", width: 80, height: 16, rx: 8 }, fold);
    const t = el("text", { class: "foldtext", x: 40, y: 12, "text-anchor": "middle" }, fold);
    const n = b.hiddenBelow.length + (b.hiddenLoads || 0);
    t.textContent = folded ? `▸ ${n} more` : "▾ fold";
  }
  R.nodeEls.set(b.id, { g, chip, chipText, sub, kw, pct, loadfg, title, b, brkTitle, badgeBox, badgeText, badgeTitle, last: "" });
  if (S.selected === b.id) g.classList.add("selected");
}

function buildGroup(b, parent) {
  const g = el("g", { class: "group", transform: `translate(${b.x},${b.y})`, "data-group": b.key }, parent);
  el("rect", { class: "gbox", width: b.w, height: b.h, rx: 6 }, g);
  const head = el("g", { class: "ghead", "data-toggle": b.key }, g);
  const headH = groupHead(b.kind);
  el("rect", { width: b.w, height: headH, fill: "transparent" }, head);
  const title = el("text", { class: "gtitle", x: 10, y: 17 }, head);
  title.textContent = `${b.open ? "▾" : "▸"} ${b.members.length} × ${kindLabel(b.kind)}`;
  const sub = el("text", { class: "gsub", x: b.w - 10, y: 17, "text-anchor": "end" }, head);
  const feeds = el("text", { class: "gsub", x: 10, y: 33 }, head);
  feeds.textContent = b.feeds.length <= 2 ? b.feeds.join(" + ") : b.feeds.length + " feeds";
  const title2 = el("title", {}, head);
  title2.textContent = b.members.join(", ") + " — click to fold or unfold";
  // The kind's own readings over the group: powers summed as the group's kW is,
  // anything else (a temperature) its highest.
  const own = headH > 40 ? el("text", { class: "gsub gown", x: 10, y: 47 }, head) : null;
  const summary = el("g", {}, g);
  const ge = { g, b, sub, own, summary, tiles: [] };
  if (b.open) {
    b.members.forEach((id, i) => {
      const cx = 9 + (i % b.cols) * (TILE + TILE_GAP);
      const cy = headH + 2 + Math.floor(i / b.cols) * (TILE + TILE_GAP);
      const t = el("rect", { class: "tile tone-none", x: cx, y: cy, width: TILE, height: TILE, "data-id": id }, g);
      const tt = el("title", {}, t);
      tt.textContent = id;
      R.tileEls.set(id, { t, tt, kind: b.kind, last: "" });
      if (S.selected === id) t.classList.add("selected");
    });
  } else {
    // Folded group: one bar of status proportions.
    for (let i = 0; i < 6; i++) el("rect", { class: "mini", x: 10, y: headH - 1, width: 0, height: 5 }, summary);
  }
  R.groupEls.push(ge);
}

/// A room's tile: its id and class, its summary (air) and the rest of its own
/// fields, the air temperature large, and the band it is in.
function buildRoom(b, parent, zone) {
  const g = el("g", { class: "node room tone-none", transform: `translate(${b.x},${b.y})`, "data-id": b.id, tabindex: "0", role: "button" }, parent);
  el("rect", { class: "box", width: b.w, height: b.h, rx: 6 }, g);
  el("rect", { class: "bar", width: 4, height: b.h - 8, x: 4, y: 4, rx: 2 }, g);
  const id = el("text", { class: "id", x: 14, y: 18 }, g);
  id.textContent = b.id;
  const chip = el("rect", { class: "chip", x: b.w - 70, y: 7, width: 64, height: 15 }, g);
  const chipText = el("text", { class: "chiptext", x: b.w - 38, y: 18, "text-anchor": "middle" }, g);
  const sub = el("text", { class: "sub", x: 14, y: 35 }, g);
  const air = el("text", { class: "kw air", x: 14, y: 56 }, g);
  const band = el("text", { class: "pct band", x: b.w - 8, y: 56, "text-anchor": "end" }, g);
  const title = el("title", {}, g);
  R.roomEls.set(b.id, { g, chip, chipText, sub, air, band, title, b, zone, last: "" });
  if (S.selected === b.id) g.classList.add("selected");
}

function updateRoom(id) {
  const r = R.roomEls.get(id);
  if (!r) return;
  const s = S.nodes.get(id) || {};
  const n = S.layout.byId.get(id);
  const cls = D.classes.get(n.class) || null;
  const band = bandOf(cls, s[F.air]);
  const sub = [summaryOf(r.b.kind, s), ...extrasOf(r.b.kind, s)].join(" · ");
  const air = fmtField(F.air, s);
  const key = [s.status, s.online, band, sub, air].join("|");
  if (key === r.last) return;
  r.last = key;
  const tone = bandTone(band);
  r.g.setAttribute("class", "node room tone-" + tone + (s.online === false ? " offline" : "") + (S.selected === id ? " selected" : ""));
  r.g.setAttribute("data-status", s.status || "unknown");
  r.g.setAttribute("data-band", band || "");
  r.g.setAttribute("data-class", n.class || "");
  r.chipText.textContent = cls ? cls.word : n.class || "?";
  r.sub.textContent = sub;
  r.air.textContent = air;
  r.band.textContent = bandText(cls, band);
  r.title.textContent = `${id} (${kindLabel(r.b.kind)}${cls ? ", class " + cls.word : ""}): ${air}` + (band ? ", " + bandText(cls, band) : "") +
    (s.status && s.status !== "ok" ? ", " + stateOf(s.status).label : "") + (s.online === false ? ", board offline" : "");
  if (r.zone) {
    r.zone.setAttribute("class", "zone tone-" + tone);
    r.zone.setAttribute("data-band", band || "");
  }
}

// What is live: a node that hands voltage downstream in a state that is not bad,
// and where its energy comes from — a source's kind (utility, generator), or, for
// a node live with no live feed, its own store (a UPS on battery).
function liveOut(id) {
  const s = S.nodes.get(id);
  if (!s) return false;
  return num(s[F.out]) && s[F.out] > 0 && toneOf(s.status) !== "bad";
}
/// The feeds a node draws from now: a switch's feed in use, else all of them.
function feedsInUse(n, s) {
  const field = feedInUseField(n.kind);
  return field && s && s[field] ? [s[field]] : n.feeds;
}
function originOf(id, memo, depth) {
  if (memo.has(id)) return memo.get(id);
  if (depth > 64) return null;
  memo.set(id, null);
  const n = S.layout.byId.get(id);
  let o = null;
  if (n && liveOut(id)) {
    if (kindOf(n.kind).role === "source") o = n.kind;
    else {
      for (const f of feedsInUse(n, S.nodes.get(id))) { const fo = originOf(f, memo, depth + 1); if (fo) { o = fo; break; } }
      // Live with no live feed: only a kind that stores energy (it reports a
      // battery) can be the origin; anything else is waiting for its update.
      if (!o && kindOf(n.kind).extra_fields.includes("battery_pct")) o = STORED;
    }
  }
  memo.set(id, o);
  return o;
}

function updateAll() {
  for (const id of R.nodeEls.keys()) updateNode(id);
  for (const id of R.roomEls.keys()) updateRoom(id);
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
  const extras = extrasOf(kind, s);
  const sub = [summaryOf(kind, s), ...extras].join(" · ");
  const kw = fmtField(F.power, s);
  const pct = num(s[F.load]) ? fmtField(F.load, s) : "";
  const online = s.online;
  const breaker = fieldValue("breaker", s) || "";
  const off = offNormal(s);
  const key = [st, sub, kw, pct, online, breaker, off ? off.word : ""].join("|");
  if (key === r.last) return;
  r.last = key;
  const b = D.breakers.get(breaker);
  r.g.setAttribute("class", "node tone-" + toneOf(s.status) + (online === false ? " offline" : "") + (S.selected === id ? " selected" : "") +
    (b ? " btone-" + b.tone : "") + (off ? " not-normal" : ""));
  r.g.setAttribute("data-status", st);
  r.g.setAttribute("data-breaker", breaker);
  r.brkTitle.textContent = b ? "Breaker: " + b.label : "";
  if (off) {
    r.g.setAttribute("data-mode", off.word);
    r.badgeText.textContent = off.label.toUpperCase();
    r.badgeTitle.textContent = id + " " + notNormalText(kind, off);
    r.badgeBox.setAttribute("width", (r.badgeText.getComputedTextLength() + 8).toFixed(1));
  } else r.g.removeAttribute("data-mode");
  r.chipText.textContent = stateOf(st).label;
  // The chip grows with a long status label (MAINT BYPASS).
  const chipW = Math.max(64, r.chipText.getComputedTextLength() + 10);
  r.chip.setAttribute("width", chipW.toFixed(1));
  r.chip.setAttribute("x", (r.b.w - 6 - chipW).toFixed(1));
  r.chipText.setAttribute("x", (r.b.w - 6 - chipW / 2).toFixed(1));
  r.sub.textContent = sub;
  // A summary that leaves no room for the node's own readings gives way to them.
  if (extras.length && r.sub.getComputedTextLength() > r.b.w - 22) r.sub.textContent = extras.join(" · ");
  r.kw.textContent = kw;
  r.pct.textContent = pct;
  const load = s[F.load];
  const frac = num(load) ? Math.max(0, Math.min(1, load / 100)) : 0;
  r.loadfg.setAttribute("width", ((r.b.w - 22) * frac).toFixed(1));
  r.loadfg.style.fill = load > 100 ? "var(--fault)" : load > 80 ? "var(--warn)" : "";
  r.title.textContent = `${id} (${kindLabel(kind)}): ${stateOf(st).label}` + (online === false ? ", board offline" : "");
}

function updateTile(id) {
  const r = R.tileEls.get(id);
  if (!r) return;
  const s = S.nodes.get(id) || {};
  const st = s.status || "unknown";
  const kw = fmtField(F.power, s);
  const breaker = fieldValue("breaker", s) || "";
  const extras = extrasOf(r.kind, s);
  const key = st + "|" + s.online + "|" + kw + "|" + breaker + "|" + extras.join();
  if (key === r.last) return;
  r.last = key;
  // A breaker that is not passing power is not good (open, tripped, locked out).
  const open = D.breakers.has(breaker) && D.breakers.get(breaker).tone !== "good";
  r.t.setAttribute("class", "tile tone-" + toneOf(s.status) + (s.online === false ? " offline" : "") + (S.selected === id ? " selected" : "") + (open ? " breaker-open" : ""));
  r.t.setAttribute("data-status", st);
  r.t.setAttribute("data-breaker", breaker);
  r.tt.textContent = [`${id}: ${stateOf(st).label}`, kw, ...extras].join(", ");
}

// Folded groups: one bar of tone proportions.
const TONES = ["good", "warn", "bad", "off", "none"];
function updateGroups() {
  const powerField = D.fields.get(F.power);
  for (const ge of R.groupEls) {
    let kw = 0;
    const byTone = new Map(TONES.map((t) => [t, 0]));
    const byState = new Map();
    for (const m of ge.b.members) {
      const s = S.nodes.get(m) || {};
      if (num(s[F.power])) kw += s[F.power];
      const tone = toneOf(s.status);
      byTone.set(tone, byTone.get(tone) + 1);
      if (s.status && tone !== "good") byState.set(s.status, (byState.get(s.status) || 0) + 1);
    }
    const parts = [...byState].map(([word, n]) => n + " " + stateOf(word).label.toLowerCase());
    parts.push(fmtValue(powerField, kw));
    ge.sub.textContent = parts.join(" · ");
    if (ge.own) {
      const own = [];
      for (const name of ownNumbers(ge.b.kind)) {
        const f = D.fields.get(name);
        const values = ge.b.members.map((m) => (S.nodes.get(m) || {})[name]).filter(num);
        if (!values.length) continue;
        const sum = powerField && f.unit === powerField.unit;
        const v = sum ? values.reduce((a, x) => a + x, 0) : Math.max(...values);
        own.push((sum ? "" : "highest ") + f.label.toLowerCase() + " " + fmtValue(f, v));
      }
      ge.own.textContent = own.join(" · ");
    }
    ge.sub.style.fill = byTone.get("bad") ? "#ff9b9b" : byTone.get("warn") ? "#c9a86a" : "";
    if (!ge.b.open) {
      const n = ge.b.members.length || 1;
      const w = ge.b.w - 20;
      const seg = TONES.map((t) => [byTone.get(t), `var(--tone-${t})`]);
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
    const inUse = toNode && feedInUseField(toNode.kind);
    if (on && inUse) on = toStatus[inUse] === e.feed;
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

/// Large sites start with the last row of infrastructure and the loads under it
/// folded into the node above (PDUs and racks into their UPS): the parents of the
/// infrastructure nodes that feed only loads.
function foldDefault(force) {
  S.folded.clear();
  if (!S.topo) return;
  if (force || S.topo.nodes.length > FOLD_ABOVE) {
    const infra = new Set(S.topo.nodes.filter((n) => !isLoad(n.kind)).map((n) => n.id));
    const treeKids = new Map([...infra].map((id) => [id, []]));
    for (const n of S.topo.nodes) {
      const f = infra.has(n.id) ? n.feeds.find((x) => infra.has(x)) : undefined;
      if (f !== undefined) treeKids.get(f).push(n.id);
    }
    for (const n of S.topo.nodes) {
      const kids = treeKids.get(n.id) || [];
      if (kids.length && kindOf(n.kind).role !== "source" && kids.every((k) => treeKids.get(k).length === 0)) S.folded.add(n.id);
    }
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
    const room = R.roomEls.get(x);
    if (room) { room.last = ""; room.g.classList.toggle("selected", x === id); }
  }
  // A room has no power: its chart is its air, which the history already holds.
  const thermal = isThermal(S.layout.byId.get(id).kind);
  const field = thermal ? F.air : F.power;
  S.nodeHist = thermal
    ? { id, field, t: S.hist.t.slice(), kw: (S.hist.air.get(id) || S.hist.t.map(() => null)).slice() }
    : { id, field, t: [], kw: [] };
  const unit = (D.fields.get(field) || {}).unit || "";
  $("ch-node-title").innerHTML = "";
  $("ch-node-title").append(document.createTextNode(id + " "), Object.assign(document.createElement("small"), { textContent: "[" + unit + "]" }));
  if (!thermal) fetch("/api/history?node=" + encodeURIComponent(id)).then((r) => r.json()).then((h) => {
    if (S.selected !== id || !h.node) return;
    S.nodeHist = { id, field, t: h.t_ms.slice(), kw: h.node[F.power].slice() };
    drawCharts();
  }).catch(() => { /* the next sample fills it */ });
  frameFailures = 0;
  renderDetail();
  fetchFrame(true);
  drawCharts();
}

/// The web's wall clock as the server keeps it [ms] (each live push carries it).
const serverNow = () => Date.now() + S.clockOffset;
/// A field's value now: a board's seconds counter (uptime) moves on with the clock
/// between pushes while the board is connected (a push comes only when it jumps).
function valueNow(f, s) {
  const v = s[f.name];
  if (f.type === "integer" && f.unit === "s" && num(v) && s.online === true && num(s.heard_ms)) {
    return v + Math.max(0, serverNow() - s.heard_ms) / 1000;
  }
  return v;
}
const boardRow = { label: "Board", value: (s) => (s.online === true ? "connected" : s.online === false ? "offline" : "—") };
/// The panel's rows for a node: its readings, then its board's link — every Status
/// field of the schema that its kind reports; for a node in a room, the room and
/// its inlet against the room's class; for a room, its class and its band.
function rowsFor(node) {
  const kind = node.kind;
  const fields = S.schema ? S.schema.status_fields.filter((f) => !NOT_ROWS.has(f.name) && hasField(kind, f.name)) : [];
  const row = (f) => ({ label: f.label, field: f.name, value: (s) => fmtValue(f, valueNow(f, s)) });
  const link = (f) => f.type === "integer";
  const thermal = [];
  const cls = isThermal(kind) ? D.classes.get(node.class) : node.room ? classOfRoom(node.room) : null;
  const unit = (D.fields.get(F.air) || {}).unit || "";
  if (node.room) thermal.push({ label: "Room", value: () => node.room });
  if (isThermal(kind)) {
    thermal.push({ label: "Class", value: () => (cls ? cls.word + " · recommended ≤ " + fmt(cls.recommended_max_c, 0) + " " + unit + " · allowable ≤ " + fmt(cls.allowable_max_c, 0) + " " + unit : node.class || "—") });
    thermal.push({ label: "Band", band: true, value: (s) => bandText(cls, bandOf(cls, s[F.air])) || "—" });
  } else if (node.room && hasField(kind, F.inlet)) {
    thermal.push({ label: "Inlet band", band: true, value: (s) => bandText(cls, bandOf(cls, s[F.inlet])) || "—" });
  }
  return [...fields.filter((f) => !link(f)).map(row), ...thermal, boardRow, ...fields.filter(link).map(row)];
}

/// The controls of a kind: one per command of the kind in the schema. A command
/// without parameters is a button; one with a bool parameter two (its label names
/// both actions, "Fail / restore", "Lock out / release"); one with a number a field
/// and a button; one with a choice (a mode) a selector of its positions, the
/// node's current one marked; one with a node id (a manual transfer) a selector of
/// the node's feeds, the feed in use marked.
function buildControls(id, kind) {
  const box = $("commands");
  box.textContent = "";
  box.dataset.node = id;
  const button = (text, cls, onClick) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.id = "btn-" + text.toLowerCase().replace(/[^a-z0-9]+/g, "-");
    if (cls) b.className = cls;
    b.addEventListener("click", onClick);
    return b;
  };
  const buttons = document.createElement("div");
  buttons.className = "row buttons";
  const selector = (c, p, choices, field) => {
    const row = document.createElement("div");
    row.className = "row selector";
    row.dataset.command = c.name;
    row.dataset.sends = c.name;
    row.dataset.field = field ? field.name : "";
    row.setAttribute("role", "radiogroup");
    row.setAttribute("aria-label", c.label);
    const label = Object.assign(document.createElement("span"), { className: "label", textContent: c.label });
    const seg = document.createElement("div");
    seg.className = "seg";
    for (const [value, text] of choices) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = text;
      b.dataset.choice = value;
      b.setAttribute("role", "radio");
      b.setAttribute("aria-checked", "false");
      b.addEventListener("click", () => {
        for (const o of seg.children) o.classList.toggle("pending", o === b);
        sendCommand(id, c.name, { [p.name]: value });
      });
      seg.append(b);
    }
    row.append(label, seg);
    box.append(row);
  };
  const node = S.layout.byId.get(id);
  for (const name of kindOf(kind).commands) {
    const c = D.commands.get(name);
    if (!c) continue;
    const p = c.params[0];
    // Each control says which command it sends: fault injection may be the
    // instructor's alone.
    const tag = (b) => { b.dataset.sends = c.name; return b; };
    if (!p) {
      buttons.append(tag(button(c.label, "", () => sendCommand(id, c.name, {}))));
    } else if (c.params.length === 1 && p.type === "bool") {
      const [on, off] = c.label.includes(" / ") ? c.label.split(" / ").map(cap) : [c.label + " on", c.label + " off"];
      buttons.append(tag(button(on, "danger", () => sendCommand(id, c.name, { [p.name]: true }))));
      buttons.append(tag(button(off, "", () => sendCommand(id, c.name, { [p.name]: false }))));
    } else if (c.params.length === 1 && p.type === "choice") {
      // The positions are mode words: the Status field of type `mode` says where it is.
      selector(c, p, p.choices.map((w) => [w, (D.modes.get(w) || { label: w }).label]), fieldOfType("mode"));
    } else if (c.params.length === 1 && p.type === "node_id") {
      // One of the node's own feeds; the feed in use is its switch field.
      const field = D.fields.get(feedInUseField(kind));
      selector(c, p, (node ? node.feeds : []).map((f) => [f, f]), field);
    } else if (c.params.length === 1 && p.type === "number") {
      const form = document.createElement("form");
      form.className = "row";
      form.dataset.command = c.name;
      form.dataset.sends = c.name;
      const label = Object.assign(document.createElement("label"), { textContent: p.label, htmlFor: "cmd-" + c.name });
      const input = Object.assign(document.createElement("input"), { id: "cmd-" + c.name, type: "number", min: String(p.min), step: "any", inputMode: "decimal" });
      const unit = Object.assign(document.createElement("span"), { className: "unit", textContent: p.unit });
      // Start from what the node now draws in the same unit (a load's served kW).
      const now = S.schema.status_fields.find((f) => f.type === "number" && f.unit === p.unit);
      const v = now ? (S.nodes.get(id) || {})[now.name] : undefined;
      if (num(v)) input.value = String(roundForDisplay(v, now.decimals));
      const submit = Object.assign(document.createElement("button"), { type: "submit", textContent: c.label });
      form.append(label, input, unit, submit);
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        const v = parseFloat(input.value);
        if (!(v >= p.min)) { toast(`${p.label} must be a number ≥ ${p.min} ${p.unit}`, true); return; }
        sendCommand(id, c.name, { [p.name]: v });
      });
      box.append(form);
    }
  }
  box.prepend(buttons);
}

/// Marks each selector's current position from the node's state; a position just
/// asked for stays marked pending until the node gets there or the answer comes.
function syncSelectors(s) {
  for (const row of $("commands").querySelectorAll(".selector")) {
    const now = row.dataset.field ? s[row.dataset.field] : undefined;
    for (const b of row.querySelectorAll("button")) {
      const on = b.dataset.choice === now;
      b.setAttribute("aria-checked", on ? "true" : "false");
      b.classList.toggle("current", on);
      if (on) b.classList.remove("pending");
    }
  }
}

function renderDetail() {
  const id = S.selected;
  $("detail-empty").hidden = !!id;
  $("detail-body").hidden = !id;
  if (!id || !S.layout) return;
  const n = S.layout.byId.get(id);
  const s = S.nodes.get(id) || {};
  $("d-id").textContent = id;
  $("d-kind").textContent = kindLabel(n.kind) + (n.feeds.length ? " · fed by " + n.feeds.join(", ") : "");
  const st = s.status || "unknown";
  const chip = $("d-status");
  chip.className = "chip tone-" + toneOf(s.status);
  chip.textContent = stateOf(st).label;
  const rows = rowsFor(n);
  const tbl = $("d-values");
  if (tbl.rows.length !== rows.length || tbl.dataset.node !== id) {
    tbl.textContent = "";
    tbl.dataset.node = id;
    for (const r of rows) {
      const tr = tbl.insertRow();
      if (r.field) tr.dataset.field = r.field;
      tr.insertCell().textContent = r.label;
      tr.insertCell();
    }
  }
  rows.forEach((r, i) => { tbl.rows[i].cells[1].textContent = r.value(s); });
  const off = offNormal(s);
  const badge = $("d-mode");
  badge.hidden = !off;
  badge.textContent = off ? notNormalText(n.kind, off) : "";
  if ($("commands").dataset.node !== id) buildControls(id, n.kind);
  syncSelectors(s);
  const ctl = S.control;
  for (const c of $("commands").querySelectorAll("button, input")) {
    const sends = c.closest("[data-sends]");
    c.disabled = !(sends ? maySend(sends.dataset.sends) : ctl);
  }
  for (const c of $("site-commands").querySelectorAll("button")) c.disabled = !ctl;
  const held = kindOf(n.kind).commands.filter((name) => ctl && !maySend(name)).map(commandLabel);
  $("control-hint").textContent = !kindOf(n.kind).commands.length
    ? "No command applies to a " + kindLabel(n.kind).toLowerCase() + "."
    : !ctl
    ? "Read-only: open the dashboard URL printed by `winter-river up` (it carries the operator token) to enable controls."
    : held.length
      ? held.join(", ") + ": the instructor's (fault injection needs the instructor's token). Other commands go to " + id + "/command over MQTT, as from a board's button."
      : "Commands go to " + id + "/command over MQTT, as from a board's button.";
}

/// Once a second: the selected node's rows that move with the clock (uptime).
function tickDetail() {
  const id = S.selected;
  if (!id || !S.layout) return;
  const s = S.nodes.get(id) || {};
  for (const tr of $("d-values").rows) {
    const f = D.fields.get(tr.dataset.field);
    if (f && f.type === "integer" && f.unit === "s") tr.cells[1].textContent = fmtValue(f, valueNow(f, s));
  }
}

// The selected board's screen is fetched when its node changes, and again every
// 2 s while the last try failed: a node that changes no more (a steady site) must
// not keep a failed first try on screen. A node with no state yet has no screen
// to ask for: its first status pushes it, and then it is fetched.
let frameBusy = false, frameAt = 0, frameFailures = 0;
const FRAME_RETRY_MS = 2000;
function fetchFrame(now) {
  const id = S.selected;
  if (!id) return;
  if (!(S.nodes.get(id) || {}).status) { drawFrame(null, id); return; }
  const t = performance.now();
  if (frameBusy || (!now && t - frameAt < 250)) { S.frameDue = true; return; }
  frameBusy = true;
  frameAt = t;
  S.frameDue = false;
  fetch("/api/nodes/" + encodeURIComponent(id) + "/screen").then(async (r) => {
    if (!r.ok) {
      let why = "";
      try { why = (await r.json()).error || ""; } catch (_) { /* not JSON */ }
      throw new Error(why || "HTTP " + r.status);
    }
    return r.arrayBuffer();
  }).then((buf) => {
    if (S.selected !== id) return;
    frameFailures = 0;
    drawFrame(new Uint8Array(buf), id);
  }).catch((e) => {
    if (S.selected !== id) return;
    frameFailures += 1;
    drawFrame(null, id, e.message);
  }).finally(() => { frameBusy = false; });
}

// 128×64, row-major, 16 bytes a row, most significant bit leftmost: the node core's Frame.
function drawFrame(bytes, id, why) {
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
  // The caption says what the panel says of the board's link.
  const s = (id && S.nodes.get(id)) || {};
  let caption;
  if (bytes) caption = "board screen · 128×64 SSD1306, drawn by the node core" + (s.online === false ? " · board offline: its last screen" : "");
  else if (!id) caption = "board screen";
  else if (why) caption = "no screen: " + why;
  else caption = s.online === true ? "board connected, no status from it yet" : "no status from this board yet";
  $("oled-caption").textContent = caption;
}

// ── KPIs and header ───────────────────────────────────────────────────────
/// The header's figures: every element with `data-system` shows that SystemStatus
/// field, formatted by the schema (a KPI's number and unit apart). Its tone comes
/// from its own attributes: `data-lost` names a field that makes it bad above 0
/// (good at 0); `data-warn-below` / `data-bad-below` are thresholds on its value;
/// `data-when="field:value"` applies them (and a warning) only while that field has
/// that value. A text value also gives the class `value-<text>`.
function renderKpis() {
  const s = S.system;
  if (!s) return;
  for (const e of document.querySelectorAll("[data-system]")) {
    const f = D.system.get(e.dataset.system);
    const v = s[e.dataset.system];
    if (!e.classList.contains("kpi")) { e.textContent = fmtValue(f, v); continue; }
    let text = fmtValue(f, v, false);
    if (f && f.type === "text" && v) text = cap(String(v));
    e.querySelector(".value span").textContent = text;
    const small = e.querySelector(".value small");
    if (small) small.textContent = f && f.unit !== "s" ? f.unit : "";
    let tone = "";
    const d = e.dataset;
    if (d.lost) tone = s[d.lost] > 0 ? "bad" : "good";
    // The highest inlet: the worst band of the servers' inlets, each against its
    // own room's class.
    if (d.band) { const worst = worstInletBand(); tone = num(v) && worst ? bandTone(worst) : ""; }
    const [whenField, whenValue] = (d.when || ":").split(":");
    if (num(v) && (!d.when || String(s[whenField]) === whenValue)) {
      if (d.badBelow && v < Number(d.badBelow)) tone = "bad";
      else if (d.warnBelow && v < Number(d.warnBelow)) tone = "warn";
      else if (d.when) tone = "warn";
    }
    e.className = "kpi" + (tone ? " " + tone : "") + (f && f.type === "text" && v ? " value-" + v : "");
  }
  // Nodes by status word, in the schema's order.
  const counts = [];
  for (const st of S.schema ? S.schema.states : []) {
    const n = s["nodes_" + st.word];
    if (n > 0) counts.push(`<span class="tone-${st.tone}"><b>${n}</b> ${st.label.toLowerCase()}</span>`);
  }
  $("counts").innerHTML = counts.join("");
}
/// The legend's status swatches: every status word of the schema, by tone.
function renderLegend() {
  const box = $("legend-states");
  box.textContent = "";
  for (const tone of TONES) {
    const words = S.schema.states.filter((st) => st.tone === tone).map((st) => st.label.toLowerCase());
    if (!words.length) continue;
    const span = document.createElement("span");
    span.append(Object.assign(document.createElement("i"), { className: "sw tone-" + tone }), document.createTextNode(words.join(" / ")));
    box.append(span);
  }
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

// ── Risk window ───────────────────────────────────────────────────────────
/// The banner while any load is less protected than normal: every node in a mode
/// the schema gives a risk (a UPS on bypass, an ATS in manual or bypass, a
/// generator in OFF), with that risk; hidden when none is.
let riskKey = "";
function renderRisk() {
  if (!S.topo) return;
  const items = [];
  for (const n of S.topo.nodes) {
    const s = S.nodes.get(n.id);
    const m = s && D.modes.get(fieldValue("mode", s));
    if (m && m.risk) items.push([n.id, m]);
  }
  const key = items.map(([id, m]) => id + ":" + m.word).join(",");
  if (key === riskKey) return;
  riskKey = key;
  const list = $("risk-list");
  list.textContent = "";
  // The banner stays in view: on a large site it names the first few and counts
  // the rest, so it never covers the page.
  for (const [id, m] of items.slice(0, RISK_SHOWN)) {
    const li = document.createElement("li");
    // data-node, not data-id: [data-id] is the diagram's element of a node.
    li.dataset.node = id;
    li.dataset.mode = m.word;
    const a = Object.assign(document.createElement("a"), { textContent: id });
    a.dataset.node = id;
    // The risk is a phrase to follow the mode's name.
    li.append(a, document.createTextNode(" — " + m.label + ": " + m.risk));
    list.append(li);
  }
  if (items.length > RISK_SHOWN) {
    const more = Object.assign(document.createElement("li"), { className: "more" });
    more.textContent = "and " + (items.length - RISK_SHOWN) + " more";
    list.append(more);
  }
  $("risk").hidden = items.length === 0;
}
/// Nodes the risk banner names before it counts the rest.
const RISK_SHOWN = 5;

// ── Live drill ────────────────────────────────────────────────────────────
// The engine's DrillStatus (retained on <p>/system/drill, pushed on the live
// stream as `drill`): the instructor's controls (load from the library, start,
// stop, fire an inject by hand, the drill clock) and, for everyone, the trainees'
// checklist, the expectations with their verdicts, the drill's timeline and, once
// it is finished, the score and the debrief. Words and tones come from the
// schema's `drill`; what is said of the drill itself from the DrillStatus.
const drillWord = (list, word) => ((S.schema && S.schema.drill && S.schema.drill[list]) || []).find((w) => w.word === word) || { word, label: word, tone: "off" };
const channelLabel = (word) => drillWord("channels", word).label;
/// The drill clock as `mm:ss` (`h:mm:ss` from an hour on).
function fmtClock(s) {
  if (!num(s)) return "—";
  s = Math.max(0, Math.floor(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return (h ? h + ":" : "") + String(m).padStart(2, "0") + ":" + String(r).padStart(2, "0");
}
const mk = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };

async function sendDrill(command, params) {
  const headers = { "Content-Type": "application/json" };
  let r;
  try {
    r = await fetch("/api/drill", { method: "POST", headers, body: JSON.stringify(params ? { command, params } : { command }) });
  } catch (_) {
    toast("Not sent: the dashboard is unreachable", true);
    return false;
  }
  if (r.ok) { toast("Drill: " + command + " sent"); return true; }
  let why = r.statusText;
  try { why = (await r.json()).error || why; } catch (_) { /* not JSON */ }
  toast("Refused (" + r.status + "): " + why, true);
  return false;
}

/// A new DrillStatus from the stream.
function onDrill(d) {
  const prev = S.drill;
  S.drill = d || { state: "none" };
  // The clock between pushes: the drill started at sim time `start`, which each
  // push tells to within the age of the latest system status (never later).
  const sim = S.system && num(S.system.sim_time_s) ? S.system.sim_time_s : null;
  const same = prev && prev.file === S.drill.file && prev.state === S.drill.state && num(prev.clock_s) && S.drill.clock_s >= prev.clock_s;
  if (!same) S.drillClock = null;
  if (S.drill.state === "running" && sim !== null && num(S.drill.clock_s)) {
    const start = sim - S.drill.clock_s;
    S.drillClock = { start: S.drillClock ? Math.max(S.drillClock.start, start) : start };
  }
  renderDrill();
}
/// The drill clock now [s]: the last push's, moved on with the engine's sim time
/// while the drill runs, never past its duration.
function drillClockNow() {
  const d = S.drill;
  let t = num(d.clock_s) ? d.clock_s : 0;
  if (d.state === "running" && S.drillClock && S.system && num(S.system.sim_time_s)) t = Math.max(t, S.system.sim_time_s - S.drillClock.start);
  return num(d.duration_s) && d.duration_s > 0 ? Math.min(t, d.duration_s) : t;
}
function renderDrillClock() {
  const d = S.drill;
  const text = fmtClock(drillClockNow()) + (num(d.duration_s) && d.duration_s > 0 ? " / " + fmtClock(d.duration_s) : "");
  $("drill-clock").textContent = text;
  $("drill-chip-clock").textContent = fmtClock(drillClockNow());
}

let drillKey = "";
function renderDrill() {
  const d = S.drill;
  const loaded = d.state && d.state !== "none";
  const panel = $("drill");
  const instructor = S.instructor;
  // With no drill loaded only the instructor sees it, and only when there is a
  // library to load from: then just the loader.
  panel.hidden = !loaded && !(instructor && (d.library || []).length);
  panel.classList.toggle("idle", !loaded);
  panel.dataset.state = d.state || "none";
  $("drill-chip").hidden = !loaded;
  $("drill-chip").dataset.state = d.state || "none";
  if (panel.hidden) return;
  // Redrawn only when what it shows changed (the clock ticks on its own).
  const key = JSON.stringify([d, instructor, S.control]);
  renderDrillClock();
  if (key === drillKey) return;
  drillKey = key;
  const state = drillWord("states", d.state || "none");
  $("drill-name").textContent = loaded ? d.name || d.file : "No drill loaded";
  const chip = $("drill-state");
  chip.textContent = state.label;
  chip.className = "chip tone-" + state.tone;
  $("drill-chip-state").textContent = state.label;

  // The instructor's part.
  $("drill-instructor").hidden = !instructor;
  if (instructor) {
    const sel = $("drill-library");
    const library = d.library || [];
    // The loaded drill's entry first chosen (`up --drill` names it by its path).
    const loadedAs = library.find((f) => d.file === f || String(d.file || "").endsWith("/" + f));
    const chosen = sel.value || loadedAs;
    sel.textContent = "";
    for (const f of library) sel.append(Object.assign(mk("option", "", f), { value: f }));
    if (library.includes(chosen)) sel.value = chosen;
    const running = d.state === "running";
    sel.disabled = !library.length || running;
    $("drill-load").disabled = !library.length || running;
    $("drill-load").title = running ? "Stop the drill before loading another" : library.length ? "" : "The engine's drill library is empty";
    $("drill-start").disabled = !(d.state === "loaded" || d.state === "finished");
    $("drill-stop").disabled = !running;
    const msg = $("drill-message");
    msg.hidden = !d.message;
    msg.textContent = d.message || "";
    const ol = $("drill-injects");
    ol.textContent = "";
    for (const inj of d.injects || []) {
      const li = mk("li", inj.fired_at_s != null ? "fired" : "");
      li.dataset.inject = String(inj.index);
      li.append(mk("span", "t", fmtClock(inj.at_s)), mk("code", "", inj.node + " " + inj.command));
      const when = inj.fired_at_s != null ? "fired at " + fmtClock(inj.fired_at_s) + (inj.by_hand ? " by hand" : "") : "";
      li.append(mk("span", "when", when));
      const b = Object.assign(mk("button", "danger", "Fire"), { type: "button", disabled: !running || inj.fired_at_s != null });
      b.dataset.fire = String(inj.index);
      b.title = inj.fired_at_s != null ? "Fired" : running ? "Fire this inject now" : "The drill is not running";
      li.append(b);
      ol.append(li);
    }
    if (!(d.injects || []).length) ol.append(mk("li", "empty", loaded ? "This drill has no injects." : "Load a drill to see its injects."));
  }

  // The checklist, for everyone: the first step still to do is the next one.
  const steps = d.steps || [];
  const next = steps.find((st) => st.state === "pending");
  const ol = $("drill-steps");
  ol.textContent = "";
  for (const st of steps) {
    const w = drillWord("steps", st.state);
    const li = mk("li", "step tone-" + w.tone + (st === next && d.state === "running" ? " next" : ""));
    li.dataset.step = String(st.number);
    li.dataset.state = st.state;
    const tick = mk("span", "tick", st.state === "pending" ? "" : st.state === "missed" ? "✗" : "✓");
    tick.setAttribute("aria-hidden", "true");
    const what = mk("div", "what");
    what.append(mk("div", "note", st.note || st.command));
    const code = mk("code", "cmd");
    const a = mk("a", "", st.node);
    a.dataset.node = st.node;
    code.append(a, document.createTextNode(" " + st.command));
    what.append(code);
    const flags = mk("div", "flags");
    flags.append(Object.assign(mk("span", "flag state tone-" + w.tone, w.label), { title: "Step " + st.number + ": " + w.label }));
    if (st.refused > 0) flags.append(mk("span", "flag refused", st.refused + " refused"));
    if (st.done_at_s != null) flags.append(mk("span", "when", fmtClock(st.done_at_s) + (st.channel ? " · " + channelLabel(st.channel) : "")));
    li.append(mk("span", "num", String(st.number)), tick, what, flags);
    ol.append(li);
  }
  if (!steps.length) ol.append(mk("li", "empty", loaded ? "This drill has no checklist." : "No drill loaded."));

  const ex = $("drill-expects");
  ex.textContent = "";
  for (const e of d.expects || []) {
    const w = drillWord("verdicts", e.verdict);
    const li = mk("li", "tone-" + w.tone);
    li.dataset.verdict = e.verdict;
    li.append(mk("span", "chip tone-" + w.tone, w.label), mk("span", "desc", e.description));
    ex.append(li);
  }
  if (!(d.expects || []).length) ex.append(mk("li", "empty", "None."));

  // When it is over: the score and the debrief (a path on this server only).
  const done = d.state === "finished";
  $("drill-result").hidden = !done;
  $("drill-score").textContent = num(d.score) ? String(d.score) : "—";
  const link = $("drill-debrief");
  const href = typeof d.debrief === "string" && d.debrief.startsWith("/") && !d.debrief.startsWith("//") ? d.debrief : null;
  link.hidden = !href;
  if (href) link.setAttribute("href", href); else link.removeAttribute("href");

  // The drill's timeline, newest first.
  const tl = $("drill-timeline");
  tl.textContent = "";
  for (const e of (d.timeline || []).slice().reverse()) {
    const li = mk("li", "what-" + String(e.what).replace(/[^a-z_]/g, ""));
    li.dataset.what = e.what;
    const text = [e.node, e.command].filter(Boolean).join(" ");
    li.append(mk("span", "t", fmtClock(e.t)), mk("code", "", text));
    // The engine's detail says what it means (a refusal's reason, "step 2 done").
    // An instructor's drill command has no channel on the wire: none is shown.
    const channel = e.what === "drill" ? "" : channelLabel(e.channel);
    const meta = [channel, e.detail || (e.step ? "step " + e.step : "")].filter(Boolean).join(" · ");
    li.append(mk("span", "entry-detail", meta));
    tl.append(li);
  }
  if (!(d.timeline || []).length) tl.append(mk("li", "empty", "Nothing yet."));
}

function initDrill() {
  $("drill-load").addEventListener("click", () => { const f = $("drill-library").value; if (f) sendDrill("load", { file: f }); });
  $("drill-start").addEventListener("click", () => sendDrill("start"));
  $("drill-stop").addEventListener("click", () => sendDrill("stop"));
  $("drill-injects").addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-fire]");
    if (b) sendDrill("inject", { event: Number(b.dataset.fire) });
  });
  $("drill-steps").addEventListener("click", (ev) => {
    const a = ev.target.closest("a[data-node]");
    if (a && S.layout && S.layout.byId.has(a.dataset.node)) { focusNode(a.dataset.node); select(a.dataset.node); }
  });
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
  if (S.pending.length) matchAnswers(list);
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
  // Limits drawn across the chart (a class's recommended and allowable maxima)
  // are always in view.
  const lines = opts.lines || [];
  for (const l of lines) { lo = Math.min(lo, l.v); hi = Math.max(hi, l.v); }
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
  ctx.setLineDash([5, 4]);
  ctx.textAlign = "right"; ctx.textBaseline = "bottom";
  for (const l of lines) {
    const y = ys(l.v);
    ctx.strokeStyle = l.color; ctx.lineWidth = 1.2;
    ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(w - Rm, y); ctx.stroke();
    ctx.fillStyle = l.color;
    ctx.fillText(l.label, w - Rm - 2, y - 2);
  }
  ctx.setLineDash([]);
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
    const shown = !num(last) ? "" : opts.decimals !== undefined ? fmt(last, opts.decimals) : Math.abs(last) < 10 ? last.toFixed(2) : Math.round(last).toLocaleString("en-US");
    const label = s.name + (shown ? " " + shown : "");
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
  drawTemperatures(tEnd, tFirst);
  const nh = S.nodeHist;
  const power = nh.field === F.power;
  drawChart($("ch-node"), nh.id ? [{ name: nh.id, color: "#34c759", t: nh.t, v: nh.kw }] : [],
    { tEnd, tFirst, min: power ? 0 : undefined, decimals: power ? undefined : (D.fields.get(nh.field) || {}).decimals, empty: nh.id ? "no data yet" : "select a component" });
}

/// The rooms' air and the site's highest server inlet, with each room class's
/// recommended and allowable maxima as dashed lines (the schema's `classes`).
function drawTemperatures(tEnd, tFirst) {
  const box = $("chart-temp");
  const rooms = S.topo ? S.topo.nodes.filter((n) => isThermal(n.kind)) : [];
  box.hidden = !rooms.length;
  if (!rooms.length) return;
  const h = S.hist;
  const air = rooms.map((n) => [n.id, h.air.get(n.id) || []]);
  let series;
  if (air.length <= 5) {
    series = air.map(([id, v], i) => ({ name: id, color: PALETTE[(i + 4) % PALETTE.length], t: h.t, v }));
  } else {
    const max = h.t.map((_, i) => Math.max(...air.map(([, v]) => (num(v[i]) ? v[i] : -Infinity))));
    series = [{ name: "hottest of " + air.length + " rooms", color: PALETTE[4], t: h.t, v: max.map((x) => (isFinite(x) ? x : null)) }];
  }
  const inlet = D.system.get(SYS_INLET);
  series.push({ name: (inlet ? inlet.label : SYS_INLET).toLowerCase(), color: "#fb7185", t: h.t, v: h.inlet });
  const unit = (D.fields.get(F.air) || {}).unit || "";
  const lines = [];
  const seen = new Set();
  for (const n of rooms) {
    const c = D.classes.get(n.class);
    if (!c) continue;
    const add = (v, what, color) => {
      if (seen.has(v)) return;
      seen.add(v);
      const classes = rooms.filter((r) => { const rc = D.classes.get(r.class); return rc && (what === "recommended" ? rc.recommended_max_c : rc.allowable_max_c) === v; }).map((r) => r.class);
      lines.push({ v, color, label: [...new Set(classes)].join("/") + " " + what + " " + fmt(v, 0) + " " + unit });
    };
    add(c.recommended_max_c, "recommended", "#f5a524");
    add(c.allowable_max_c, "allowable", "#ef4444");
  }
  drawChart($("ch-temp"), series, { tEnd, tFirst, lines, decimals: (D.fields.get(F.air) || {}).decimals, empty: "no temperature yet" });
}
function pushSample(sm) {
  const h = S.hist;
  const cap = (a) => { if (a.length > HISTORY_S) a.splice(0, a.length - HISTORY_S); };
  h.t.push(sm.t_ms); h.it.push(sm.it_kw); h.fac.push(sm.facility_kw); h.pue.push(sm.pue);
  for (const [id, arr] of h.bat) arr.push(sm.battery_pct ? sm.battery_pct[id] : null);
  for (const id in sm.battery_pct || {}) if (!h.bat.has(id)) h.bat.set(id, h.t.map((_, i) => (i === h.t.length - 1 ? sm.battery_pct[id] : null)));
  h.inlet.push(num(sm[SYS_INLET]) ? sm[SYS_INLET] : null);
  const air = sm[F.air] || {};
  for (const [id, arr] of h.air) arr.push(num(air[id]) ? air[id] : null);
  for (const id in air) if (!h.air.has(id)) h.air.set(id, h.t.map((_, i) => (i === h.t.length - 1 ? air[id] : null)));
  [h.t, h.it, h.fac, h.pue, h.inlet, ...h.bat.values(), ...h.air.values()].forEach(cap);
  const nh = S.nodeHist;
  if (nh.id) {
    const s = S.nodes.get(nh.id) || {};
    nh.t.push(sm.t_ms); nh.kw.push(num(s[nh.field]) ? s[nh.field] : null);
    cap(nh.t); cap(nh.kw);
  }
  chartsDue = true;
}

async function loadHistory() {
  try {
    const h = await (await fetch("/api/history")).json();
    S.hist = { t: h.t_ms, it: h.it_kw, fac: h.facility_kw, pue: h.pue, bat: new Map(Object.entries(h.battery_pct || {})),
      inlet: h[SYS_INLET] || h.t_ms.map(() => null), air: new Map(Object.entries(h[F.air] || {})) };
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
    // The temperature KPI and chart only where there is a room.
    const rooms = S.layout.rooms.length > 0;
    $("kpi-inlet").hidden = !rooms;
    $("kpis").classList.toggle("with-rooms", rooms);
    $("legend-room").hidden = !rooms;
    if (S.selected && !S.layout.byId.has(S.selected)) S.selected = null;
    riskKey = null;
    renderRisk();
    // Start on a node of the kind with the most fields of its own (a UPS): the
    // component whose screen tells the most.
    if (!S.selected && topo.nodes.length) {
      const extras = (n) => kindOf(n.kind).extra_fields.length;
      const first = topo.nodes.reduce((best, n) => (extras(n) > extras(best) ? n : best), topo.nodes[0]);
      select(first.id);
    }
    renderDetail();
    loadHistory();
  } catch (e) {
    $("waiting").hidden = false;
  }
}

function onDelta(d) {
  if (num(d.wall_ms)) S.clockOffset = d.wall_ms - Date.now();
  if (d.topology !== S.topoVersion) {
    S.topoVersion = d.topology;
    if (d.topology > 0) loadTopology(d.topology);
  }
  if (d.nodes) for (const n of d.nodes) {
    S.nodes.set(n.node_id, n);
    S.dirty.add(n.node_id);
  }
  if (d.system) { S.system = d.system; if (S.drill.state === "running") renderDrillClock(); }
  if (d.drill) onDrill(d.drill);
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
      for (const id of S.dirty) { updateNode(id); updateTile(id); updateRoom(id); }
      updateGroups();
      updateEdges();
      if (S.selected && S.dirty.has(S.selected)) { renderDetail(); fetchFrame(false); }
      S.dirty.clear();
      renderRisk();
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
async function loadSchema() {
  for (let wait = 250; ; wait = Math.min(wait * 2, 4000)) {
    try {
      const r = await fetch("/api/schema");
      if (r.ok) return useSchema(await r.json());
    } catch (_) { /* the server is restarting */ }
    await new Promise((ok) => setTimeout(ok, wait));
  }
}

async function init() {
  await loadSchema();
  renderLegend();
  buildSiteControls();
  $("confirm-yes").addEventListener("click", () => {
    const c = confirming;
    closeConfirm();
    if (c) sendCommand("system", c.name, {});
  });
  $("risk-list").addEventListener("click", (ev) => {
    const a = ev.target.closest("a[data-node]");
    if (a) { focusNode(a.dataset.node); select(a.dataset.node); }
  });
  initDrill();
  initToken();
  initZoom();
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
  setInterval(() => {
    tickDetail();
    expireAnswers();
    if (frameFailures && performance.now() - frameAt >= FRAME_RETRY_MS) fetchFrame(false);
  }, 1000);
}

// For tests and the curious: the dashboard's state.
window.winterRiver = { state: S, select, sendCommand, sendDrill, focus: focusNode, roundForDisplay };
init();
