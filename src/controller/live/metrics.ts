/**
 * The controller's metrics in the Prometheus text exposition format
 * (prom-client, a registry of its own): switch reachability and primary
 * status, link states and heartbeat watches (round trips: the controller's
 * timing of punted responses in the slow path, the data plane's hb_rtt in
 * the fast path), the data plane's per-session counters as last read
 * (per client: the copies its last hop sent it, and its last hop's dedup
 * verdicts; per last hop: the copies its window accepted; burst colours at
 * the ingress router), repairs with their duration, P4Runtime writes and
 * faults. Gauges and data-plane counters are filled from the controller's
 * state at each scrape; repairs, writes and faults are counted from its events.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { EventEmitter } from "node:events";
import type { Controller, ControllerEvents } from "../controller.js";
import type { CounterSnapshot } from "./counters.js";
import { liveState } from "./state.js";

export const REPAIR_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class ControllerMetrics {
  readonly registry = new Registry();
  private readonly detach: (() => void)[] = [];

  constructor(ctl: Controller, counters: () => CounterSnapshot | undefined) {
    const registers = [this.registry];
    // One view of the controller per scrape (every gauge below reads it).
    let view: { at: number; state: ReturnType<typeof liveState> } | undefined;
    const st = () => {
      if (!view || performance.now() - view.at > 100) view = { at: performance.now(), state: liveState(ctl, { counters: counters() }) };
      return view.state;
    };
    const b = (x: boolean) => (x ? 1 : 0);
    /** A counter whose value is read elsewhere (the data plane, the controller's own count): set at each scrape. */
    const absolute = (name: string, help: string, labelNames: string[], values: () => Iterable<[Record<string, string>, number]>) =>
      new Counter({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const [labels, v] of values()) this.inc(labels, Math.max(0, v));
        },
      });
    const gauge = (name: string, help: string, labelNames: string[], values: () => Iterable<[Record<string, string>, number]>) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const [labels, v] of values()) this.set(labels, v);
        },
      });

    gauge("p4cast_switch_reachable", "1 while the controller's P4Runtime stream to the switch is up", ["switch"], () =>
      st().switches.map((s) => [{ switch: s.name }, b(s.reachable)]),
    );
    gauge("p4cast_switch_primary", "1 while this controller is the switch's primary", ["switch"], () =>
      st().switches.map((s) => [{ switch: s.name }, b(s.primary)]),
    );
    gauge("p4cast_switch_in_sync", "1 while the switch holds what the controller intends", ["switch"], () =>
      st().switches.map((s) => [{ switch: s.name }, b(s.inSync)]),
    );
    absolute("p4cast_switch_reprograms_total", "times the switch was re-programmed after coming back", ["switch"], () =>
      st().switches.map((s) => [{ switch: s.name }, s.reprograms]),
    );
    gauge(
      "p4cast_link_up",
      "1 while the link is up for the controller (0: down for a heartbeat verdict, an unreachable end, or by hand)",
      ["link"],
      () => st().links.map((l) => [{ link: l.name }, b(l.state !== "down")]),
    );
    gauge("p4cast_link_heartbeat_misses", "heartbeat intervals without a response, per watching end", ["link", "watcher"], () =>
      st().links.flatMap((l) => l.watches.map((w) => [{ link: l.name, watcher: w.switch }, w.misses] as [Record<string, string>, number])),
    );
    gauge("p4cast_link_heartbeat_down", "1 while the watching end's heartbeat verdict is down", ["link", "watcher"], () =>
      st().links.flatMap((l) => l.watches.map((w) => [{ link: l.name, watcher: w.switch }, b(w.down)] as [Record<string, string>, number])),
    );
    gauge(
      "p4cast_link_heartbeat_rtt_seconds",
      "round trip of the last heartbeat response, per watching end " +
        "(slow path: timed by the controller; fast path: by the watching switch's data plane, hb_rtt as last read)",
      ["link", "watcher"],
      () =>
        st().links.flatMap((l) =>
          l.watches.flatMap((w) =>
            w.rttMs === undefined ? [] : [[{ link: l.name, watcher: w.switch }, w.rttMs / 1000] as [Record<string, string>, number]],
          ),
        ),
    );
    const names = new Map(ctl.topology.links.map((_l, i) => [i, ctl.graph.linkName(i)]));
    absolute(
      "p4cast_link_heartbeat_responses_total",
      "heartbeat responses the watching switch's data plane consumed from its peer (hb_peer_counter)",
      ["link", "watcher"],
      () => (counters()?.heartbeats ?? []).map((h) => [{ link: names.get(h.link)!, watcher: h.switch }, Number(h.responses)]),
    );
    const perClient = (name: string, help: string, pick: (d: CounterSnapshot["clients"][number]) => bigint) =>
      absolute(name, help, ["session", "client", "last_hop"], () =>
        (counters()?.clients ?? []).map((d) => [{ session: String(d.session), client: d.client, last_hop: d.lastHop }, Number(pick(d))]),
      );
    const lastHops =
      " (per session and client; dedup runs once per last hop, before replication: " +
      "every client behind a last hop has its last hop's value)";
    perClient(
      "p4cast_session_delivered_total",
      "copies the client's last hop sent it (per session and client: the data plane's lasthop_client_delivered_counter)",
      (d) => d.delivered,
    );
    perClient("p4cast_session_duplicates_total", `copies dropped as duplicates at the client's last hop${lastHops}`, (d) => d.duplicate);
    perClient("p4cast_session_late_total", `copies dropped as too old (late) at the client's last hop${lastHops}`, (d) => d.tooOld);
    perClient(
      "p4cast_session_gap_total",
      `copies dropped as out of window (a gap past the window) at the client's last hop${lastHops}`,
      (d) => d.outOfWindow,
    );
    absolute(
      "p4cast_session_accepted_total",
      "copies the last hop's dedup window accepted (first copy of a sequence, before replication to the clients; per session and last hop)",
      ["session", "last_hop"],
      () => (counters()?.dedup ?? []).map((d) => [{ session: String(d.session), last_hop: d.lastHop }, Number(d.delivered)]),
    );
    absolute(
      "p4cast_session_meter_packets_total",
      "session packets at the ingress router by burst-meter colour",
      ["session", "ingress", "colour"],
      () =>
        (counters()?.colours ?? []).flatMap((c) =>
          (["green", "yellow", "red"] as const).map(
            (colour) => [{ session: String(c.session), ingress: c.ingress, colour }, Number(c[colour])] as [Record<string, string>, number],
          ),
        ),
    );
    gauge(
      "p4cast_session_receivers",
      "receivers of the session behind each last hop (the file's clients, joins, less leaves)",
      ["session", "last_hop"],
      () =>
        st().sessions.flatMap((s) =>
          Object.entries(s.lastHops).map(
            ([lh, hosts]) => [{ session: String(s.id), last_hop: lh }, hosts.length] as [Record<string, string>, number],
          ),
        ),
    );
    gauge("p4cast_counters_read_timestamp_seconds", "when the data plane's counters above were read (seconds since the epoch)", [], () => {
      const c = counters();
      return c ? [[{}, c.at / 1000]] : [];
    });

    const repairs = new Counter({
      name: "p4cast_repairs_total",
      help: "repairs after a link verdict, by the link's new state",
      labelNames: ["link_state"],
      registers,
    });
    const repairWrites = new Counter({
      name: "p4cast_repair_writes_total",
      help: "updates written by repairs after link verdicts",
      registers,
    });
    const repairSeconds = new Histogram({
      name: "p4cast_repair_duration_seconds",
      help: "from a link verdict to the last write of its repair",
      buckets: REPAIR_BUCKETS_S,
      registers,
    });
    const updates = new Counter({
      name: "p4cast_p4runtime_updates_total",
      help: "P4Runtime updates written (inserts, modifies, deletes)",
      labelNames: ["switch"],
      registers,
    });
    const requests = new Counter({
      name: "p4cast_p4runtime_write_requests_total",
      help: "P4Runtime WriteRequests sent",
      labelNames: ["switch"],
      registers,
    });
    const errors = new Counter({
      name: "p4cast_p4runtime_errors_total",
      help: "failed P4Runtime work on a switch (a write, read or pipeline push that failed; retried)",
      labelNames: ["switch"],
      registers,
    });
    const faults = new Counter({
      name: "p4cast_controller_faults_total",
      help: "background tasks that failed (logged, retried)",
      labelNames: ["task"],
      registers,
    });
    for (const s of ctl.topology.switches) for (const c of [updates, requests, errors]) c.inc({ switch: s.name }, 0);
    for (const l of ["down", "up"]) repairs.inc({ link_state: l }, 0);
    const on = <K extends keyof ControllerEvents>(ev: K, fn: (...args: ControllerEvents[K]) => void) => {
      const f = fn as (...args: unknown[]) => void;
      (ctl as EventEmitter).on(ev, f);
      this.detach.push(() => (ctl as EventEmitter).off(ev, f));
    };
    on("failover", (r) => {
      repairs.inc({ link_state: r.up ? "up" : "down" });
      repairWrites.inc(r.writes);
      repairSeconds.observe(r.repairMs / 1000);
    });
    on("written", (r) => {
      updates.inc({ switch: r.switch }, r.inserted + r.modified + r.deleted);
      requests.inc({ switch: r.switch }, r.requests);
    });
    on("fault", (f) => {
      faults.inc({ task: f.task.replace(/^link \S+ (down|up)$/, "link $1") });
      if (f.switch) errors.inc({ switch: f.switch });
    });
  }

  /** The exposition text. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  close(): void {
    for (const d of this.detach) d();
    this.detach.length = 0;
  }
}
