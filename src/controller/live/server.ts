/**
 * The live view's HTTP server (node:http), read-only: every route is a GET
 * (or HEAD) and none changes the controller or the switches.
 *
 *   /                 the page (web/live/), drawn with Cytoscape.js served from node_modules
 *   /api/state        the controller's view as JSON (state.ts); ?fresh=1 reads the counters first
 *   /api/events       server-sent events: a `state` event with the whole document at every change
 *   /metrics          Prometheus text exposition (metrics.ts); reads the counters first
 *
 * Bound to a loopback address, it answers only requests whose Host names a
 * loopback address (a page elsewhere cannot read it through DNS rebinding).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { EventEmitter } from "node:events";
import type { Controller, ControllerEvents } from "../controller.js";
import { CounterPoller } from "./counters.js";
import { ControllerMetrics } from "./metrics.js";
import { liveState, type LiveState } from "./state.js";
import { Timeline } from "./timeline.js";
import { httpUrl, isLoopbackHost, parseHttpAddress } from "./address.js";

/** The repository (or installed package) root: src/controller/live and dist/controller/live are three levels down. */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const WEB = join(ROOT, "web", "live");

export interface LiveServerOptions {
  /** host:port; loopback only unless `allowRemote`. Port 0 picks a free one. */
  readonly address: string;
  readonly allowRemote?: boolean;
  /** How often the data plane's counters are read (default 1000 ms). */
  readonly countersMs?: number;
}

/** Controller events after which the page gets a new state at once. */
const CHANGES: readonly (keyof ControllerEvents)[] = [
  "deployed",
  "linkDown",
  "linkUp",
  "failover",
  "overlaySwitched",
  "membership",
  "switchLost",
  "reprogrammed",
  "role",
  "takeover",
  "resynced",
  "fault",
];

interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

function assets(): Map<string, Asset> {
  const cytoscape = join(dirname(createRequire(import.meta.url).resolve("cytoscape")), "cytoscape.min.js");
  const file = (path: string, type: string): Asset => ({ type, body: readFileSync(path) });
  return new Map([
    ["/", file(join(WEB, "index.html"), "text/html; charset=utf-8")],
    ["/app.js", file(join(WEB, "app.js"), "text/javascript; charset=utf-8")],
    ["/style.css", file(join(WEB, "style.css"), "text/css; charset=utf-8")],
    ["/vendor/cytoscape.min.js", file(cytoscape, "text/javascript; charset=utf-8")],
  ]);
}

export class LiveServer {
  readonly timeline: Timeline;
  readonly counters: CounterPoller;
  readonly metrics: ControllerMetrics;
  private readonly clients = new Set<ServerResponse>();
  private readonly detach: (() => void)[] = [];
  private pending: NodeJS.Timeout | undefined;
  private keepalive: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    readonly ctl: Controller,
    private readonly server: Server,
    private readonly files: Map<string, Asset>,
    private readonly loopbackOnly: boolean,
    countersMs: number,
  ) {
    this.timeline = new Timeline(ctl);
    this.counters = new CounterPoller(
      {
        plan: () => ctl.currentPlan,
        clients: ctl.clients,
        // Requests stamped by the switches (every mode but slow): the round trips they measured (hb_rtt), read with the counters.
        options: () =>
          ctl.heartbeats && ctl.topology.heartbeat.mode !== "slow"
            ? { registers: (sw: string) => ctl.registerReader(sw), rttUnitNs: ctl.rttUnitNs }
            : {},
      },
      countersMs,
    );
    this.metrics = new ControllerMetrics(ctl, () => this.counters.latest);
    for (const ev of CHANGES) {
      const f = () => this.changed();
      (ctl as EventEmitter).on(ev, f);
      this.detach.push(() => (ctl as EventEmitter).off(ev, f));
    }
    this.counters.onRead(() => this.changed());
    server.on("request", (req, res) => this.handle(req, res));
  }

  /** Starts serving; rejects with the listen error (EADDRINUSE, ...) or a bad address. */
  static async start(ctl: Controller, o: LiveServerOptions): Promise<LiveServer> {
    const addr = parseHttpAddress(o.address, o.allowRemote);
    const files = assets();
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(addr.port, addr.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const live = new LiveServer(ctl, server, files, addr.loopback, o.countersMs ?? 1000);
    live.counters.start();
    live.keepalive = setInterval(() => {
      for (const c of live.clients) c.write(": keepalive\n\n");
    }, 15_000);
    live.keepalive.unref();
    return live;
  }

  get url(): string {
    const a = this.server.address() as AddressInfo;
    return httpUrl(a.address, a.port);
  }

  /** The document /api/state serves. */
  state(): LiveState {
    return liveState(this.ctl, { counters: this.counters.latest, timeline: this.timeline.list() });
  }

  /** Pushes the state to every page soon (changes within 25 ms go as one). */
  private changed(): void {
    if (this.closed || this.pending || this.clients.size === 0) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.broadcast();
    }, 25);
  }

  private broadcast(): void {
    if (this.clients.size === 0) return;
    const data = `event: state\ndata: ${JSON.stringify(this.state())}\n\n`;
    for (const c of this.clients) c.write(data);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://localhost");
    const send = (status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-store", "x-content-type-options": "nosniff", ...headers });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (req.method !== "GET" && req.method !== "HEAD")
      return send(405, "text/plain; charset=utf-8", "read-only: only GET and HEAD\n", { allow: "GET, HEAD" });
    const host = (req.headers.host ?? "").replace(/:\d+$/, "");
    if (this.loopbackOnly && !isLoopbackHost(host))
      return send(403, "text/plain; charset=utf-8", "this view answers loopback host names only\n");
    const asset = this.files.get(url.pathname === "/index.html" ? "/" : url.pathname);
    if (asset) return send(200, asset.type, asset.body);
    switch (url.pathname) {
      case "/api/state": {
        const fresh = url.searchParams.get("fresh") === "1";
        void (fresh ? this.counters.refresh() : Promise.resolve()).then(() =>
          send(200, "application/json; charset=utf-8", JSON.stringify(this.state())),
        );
        return;
      }
      case "/api/events": {
        res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", connection: "keep-alive" });
        if (req.method === "HEAD") return void res.end();
        res.write(`retry: 1000\nevent: state\ndata: ${JSON.stringify(this.state())}\n\n`);
        this.clients.add(res);
        req.on("close", () => this.clients.delete(res));
        return;
      }
      case "/metrics": {
        void this.counters
          .refresh()
          .then(() => this.metrics.text())
          .then(
            (text) => send(200, this.metrics.contentType, text),
            (e: unknown) => send(500, "text/plain; charset=utf-8", `metrics: ${e instanceof Error ? e.message : String(e)}\n`),
          );
        return;
      }
      default:
        return send(404, "text/plain; charset=utf-8", "not found: /, /api/state, /api/events, /metrics\n");
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.pending);
    clearInterval(this.keepalive);
    this.counters.stop();
    for (const d of this.detach) d();
    this.timeline.close();
    this.metrics.close();
    for (const c of this.clients) c.end();
    this.clients.clear();
    this.server.closeAllConnections?.();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
