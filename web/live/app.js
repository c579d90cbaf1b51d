/*
 * The p4cast live view: draws the controller's state (GET /api/state, then
 * server-sent events on /api/events) with Cytoscape.js. Positions come from
 * the server (computed from the topology), so the picture never moves
 * between updates. Read-only: the page sends nothing but GETs.
 */
/* global cytoscape */
"use strict";

const view = {
  cy: undefined,
  state: undefined,
  /** Updates applied (each server-sent state counts). */
  updates: 0,
  selected: undefined,
};
window.p4castView = view;

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const fmt = (n) => (n === undefined ? "-" : Number(n).toLocaleString("en"));

const STYLE = [
  { selector: "node", style: { label: "data(label)", "font-size": 12, "text-valign": "center", "text-halign": "center" } },
  { selector: 'node[kind = "switch"]', style: { shape: "round-rectangle", width: 46, height: 30, "background-color": "#e8f0fe", "border-width": 2, "border-color": "#1a73e8" } },
  { selector: 'node[kind = "switch"].ingress', style: { "background-color": "#1a73e8", color: "#fff" } },
  { selector: 'node[kind = "switch"].lasthop', style: { "border-width": 4, "border-color": "#9334e6" } },
  { selector: 'node[kind = "switch"].lost', style: { "background-color": "#fce8e6", "border-color": "#d93025", "border-style": "dashed" } },
  { selector: 'node[kind = "switch"].backup', style: { "border-color": "#e0a800" } },
  { selector: 'node[kind = "host"]', style: { shape: "ellipse", width: 16, height: 16, "background-color": "#bdc1c6", "font-size": 10, "text-valign": "bottom", "text-margin-y": 2 } },
  { selector: 'node[kind = "host"].receiver', style: { "background-color": "#9334e6" } },
  { selector: 'node[kind = "host"].source', style: { "background-color": "#1a73e8" } },
  { selector: "edge", style: { "curve-style": "bezier", width: 3, "line-color": "#9aa0a6" } },
  { selector: 'edge[kind = "access"]', style: { width: 1, "line-color": "#dadce0" } },
  { selector: 'edge[kind = "link"]', style: { width: 5, label: "data(label)", "font-size": 9, color: "#5f6368", "text-rotation": "autorotate", "text-background-color": "#fff", "text-background-opacity": 0.8 } },
  { selector: 'edge[kind = "link"][state = "up"]', style: { "line-color": "#2e9d4a" } },
  { selector: 'edge[kind = "link"][state = "missing"]', style: { "line-color": "#e0a800" } },
  { selector: 'edge[kind = "link"][state = "down"]', style: { "line-color": "#d93025", "line-style": "dashed", width: 6 } },
  { selector: 'edge[kind = "link"][state = "unwatched"]', style: { "line-color": "#9aa0a6" } },
  { selector: 'edge[kind = "tree"]', style: { width: 3, "line-color": "#1a73e8", "target-arrow-shape": "triangle", "target-arrow-color": "#1a73e8", "arrow-scale": 1.2 } },
  { selector: 'edge[kind = "overlay"]', style: { width: 2, "line-color": "#9334e6", "line-style": "dashed", "target-arrow-shape": "vee", "target-arrow-color": "#9334e6" } },
  { selector: 'edge[kind = "overlay"][?standby]', style: { "line-color": "#c5a3f0", "line-style": "dotted", "target-arrow-color": "#c5a3f0" } },
];

function graph() {
  if (!view.cy) {
    view.cy = cytoscape({ container: $("graph"), style: STYLE, layout: { name: "preset" }, wheelSensitivity: 0.3, boxSelectionEnabled: false, autoungrabify: true });
  }
  return view.cy;
}

/** Makes the graph hold exactly `wanted` (id → {data, classes, position?}); keeps what did not change. */
function sync(cy, wanted, kinds) {
  cy.batch(() => {
    cy.elements().forEach((el) => {
      if (kinds.includes(el.data("kind")) && !wanted.has(el.id())) cy.remove(el);
    });
    for (const [id, w] of wanted) {
      let el = cy.getElementById(id);
      if (el.empty()) {
        el = cy.add({ group: w.group, data: { id, ...w.data }, ...(w.position ? { position: w.position } : {}) });
      } else {
        // An edge's ends never change under one id (the ids name them).
        const { source, target, ...rest } = w.data;
        el.data(rest);
        if (w.position) el.position(w.position);
      }
      el.classes(w.classes || "");
    }
  });
}

function render(st) {
  view.state = st;
  view.updates++;
  const cy = graph();
  const first = cy.elements().empty();
  $("topology").textContent = `${st.topology} (election id ${st.electionId})`;
  $("updated").textContent = `updated ${new Date(st.at).toLocaleTimeString()}`;

  // Session selection survives updates.
  const sel = $("session");
  const ids = st.sessions.map((s) => String(s.id));
  if ([...sel.options].map((o) => o.value).join(",") !== ids.join(",")) {
    const keep = sel.value;
    sel.innerHTML = st.sessions.map((s) => `<option value="${s.id}">${s.id} (${esc(s.redundancy)})</option>`).join("");
    if (ids.includes(keep)) sel.value = keep;
  }
  view.selected = sel.value ? Number(sel.value) : undefined;
  const session = st.sessions.find((s) => s.id === view.selected);
  const showTree = $("show-tree").checked;
  const showOverlays = $("show-overlays").checked;
  const receivers = new Set(session ? Object.values(session.lastHops).flat() : []);
  const lastHops = new Set(session ? Object.keys(session.lastHops) : []);

  const nodes = new Map();
  for (const s of st.switches) {
    const classes = [!s.reachable ? "lost" : "", s.reachable && !s.primary ? "backup" : "", session && session.ingress === s.name ? "ingress" : "", lastHops.has(s.name) ? "lasthop" : ""];
    nodes.set(`sw:${s.name}`, { group: "nodes", data: { kind: "switch", label: s.name, reachable: s.reachable, primary: s.primary, inSync: s.inSync }, position: { x: s.x, y: s.y }, classes: classes.join(" ").trim() });
  }
  for (const h of st.hosts) {
    const classes = [receivers.has(h.name) ? "receiver" : "", session && session.source === h.name ? "source" : ""];
    nodes.set(`h:${h.name}`, { group: "nodes", data: { kind: "host", label: h.name, switch: h.switch }, position: { x: h.x, y: h.y }, classes: classes.join(" ").trim() });
  }
  sync(cy, nodes, ["switch", "host"]);

  const edges = new Map();
  for (const h of st.hosts) edges.set(`ha:${h.name}`, { group: "edges", data: { kind: "access", source: `sw:${h.switch}`, target: `h:${h.name}` } });
  for (const l of st.links) {
    const rtt = l.watches.filter((w) => w.rttMs !== undefined).map((w) => `${w.rttMs.toFixed(w.rttMs < 10 ? 2 : 1)} ms`);
    edges.set(`l:${l.id}`, { group: "edges", data: { kind: "link", source: `sw:${l.a.switch}`, target: `sw:${l.b.switch}`, state: l.state, name: l.name, label: rtt.length ? rtt.join(" / ") : "", reasons: l.reasons.join(", ") } });
  }
  if (session && showTree) {
    for (const e of session.tree) edges.set(`t:${session.id}:${e.from}>${e.to}`, { group: "edges", data: { kind: "tree", source: `sw:${e.from}`, target: `sw:${e.to}`, from: e.from, to: e.to, link: e.link, session: session.id } });
  }
  if (session && showOverlays) {
    for (const o of session.overlays) {
      o.path.slice(1).forEach((to, i) => {
        const from = o.path[i];
        edges.set(`o:${session.id}:${o.lastHop}:${i}:${from}>${to}`, { group: "edges", data: { kind: "overlay", source: `sw:${from}`, target: `sw:${to}`, from, to, lastHop: o.lastHop, standby: !o.active, link: o.links[i], session: session.id } });
      });
    }
  }
  sync(cy, edges, ["access", "link", "tree", "overlay"]);
  if (first) cy.fit(undefined, 30);

  $("session-info").innerHTML = session
    ? `<p>ingress <b>${esc(session.ingress)}</b>, group ${esc(session.group)}; tree ${session.tree.map((e) => `${esc(e.from)}→${esc(e.to)}`).join(" ") || "(none)"}</p>` +
      `<p>overlays: ${session.overlays.map((o) => `${esc(o.lastHop)}: ${o.path.map(esc).join("→")}${o.active ? "" : " (standby)"}`).join("; ") || "none"}</p>` +
      (session.unreachable.length ? `<p class="bad">unreachable last hops: ${session.unreachable.map(esc).join(", ")}</p>` : "")
    : "<p>no session</p>";

  const down = st.links.filter((l) => l.state === "down");
  $("links-down").innerHTML = down.length ? down.map((l) => `<li data-link="${esc(l.name)}">${esc(l.name)} (${esc(l.reasons.join(", "))})</li>`).join("") : "<li class=none style=\"color:inherit\">none</li>";

  const c = st.counters;
  const rows = [];
  // Per session and client: delivered is the client's own (the copies its last hop sent it); duplicated, late
  // and gap are its last hop's (dedup runs once per last hop, before the copies are made).
  for (const d of c ? c.clients || [] : []) {
    rows.push(
      `<tr data-session="${d.session}" data-client="${esc(d.client)}" data-last-hop="${esc(d.lastHop)}" data-delivered="${d.delivered}"><td>${d.session}</td><td>${esc(d.client)}</td><td>${esc(d.lastHop)}</td><td class="n">${fmt(d.delivered)}</td>` +
        `<td class="n${d.duplicate ? " bad" : ""}">${fmt(d.duplicate)}</td><td class="n${d.tooOld ? " bad" : ""}">${fmt(d.tooOld)}</td><td class="n${d.outOfWindow ? " bad" : ""}">${fmt(d.outOfWindow)}</td></tr>`,
    );
  }
  $("clients").tBodies[0].innerHTML = rows.join("");
  $("meters").tBodies[0].innerHTML = (c ? c.colours : []).map((m) => `<tr><td>${m.session}</td><td>${esc(m.ingress)}</td><td class="n">${fmt(m.green)}</td><td class="n">${fmt(m.yellow)}</td><td class="n${m.red ? " bad" : ""}">${fmt(m.red)}</td></tr>`).join("");
  $("counters-at").textContent = c ? `data-plane counters read at ${new Date(c.at).toLocaleTimeString()} (delivered: per client; duplicated, late, gap: the client's last hop's, shared by its clients)${c.unread.length ? `; not readable: ${c.unread.join(", ")}` : ""}` : "counters not read yet";

  const yes = (b) => (b ? "yes" : "<b class=bad>no</b>");
  $("switches").tBodies[0].innerHTML = st.switches
    .map((s) => `<tr><td>${esc(s.name)}</td><td>${yes(s.reachable)}</td><td>${s.primary ? "yes" : s.primaryElectionId ? `no (primary: ${esc(s.primaryElectionId)})` : "no"}</td><td>${yes(s.inSync)}</td><td class="n">${s.reprograms}</td></tr>`)
    .join("");
  $("timeline").innerHTML = [...st.timeline]
    .reverse()
    .map((e) => `<li data-kind="${esc(e.kind)}"><time>${new Date(e.at).toLocaleTimeString()}</time><span class="kind kind-${esc(e.kind)}">${esc(e.kind)}</span>${esc(e.text)}</li>`)
    .join("");
}

function connect() {
  const conn = $("connection");
  const es = new EventSource("/api/events");
  es.addEventListener("state", (ev) => {
    conn.textContent = "live";
    conn.className = "conn conn-live";
    render(JSON.parse(ev.data));
  });
  es.onerror = () => {
    conn.textContent = es.readyState === EventSource.CLOSED ? "disconnected" : "reconnecting";
    conn.className = "conn conn-lost";
  };
}

for (const id of ["session", "show-tree", "show-overlays"]) $(id).addEventListener("change", () => view.state && render(view.state));
connect();
