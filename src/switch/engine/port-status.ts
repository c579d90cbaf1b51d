/**
 * The operational status of a switch's ports as its data plane sees it:
 * every port is up until something marks it down. The packet replication
 * engine reads it to choose between a replica and its backups, action
 * selectors to leave out members whose watch port is down. A switch keeps
 * one for all the pipelines it loads, so a new pipeline starts with the
 * ports as they are.
 *
 * A port can be down for several causes at once (its carrier, its data
 * plane's heartbeat verdict on the link's peer, an operator's call); it is
 * up again when the last one clears.
 */
import { EngineError } from "./runtime-api.js";

export type PortStatusListener = (port: number, up: boolean) => void;

/**
 * Why a port is down: `link` its interface's carrier (raw ports), `verdict`
 * the data plane judged the link's peer down (a heartbeat verdict digest),
 * `api` set by a caller (setPortStatus, tests, the operator).
 */
export type PortDownCause = "link" | "verdict" | "api";

export class PortStatus {
  private readonly down = new Map<number, Set<PortDownCause>>();
  private readonly listeners = new Set<PortStatusListener>();
  /** Counts changes, so that what is derived from the status can be cached until the next one. */
  private changes = 0;

  isUp(port: number): boolean {
    return !this.down.has(port);
  }

  /** Increases with every change of any port. */
  get version(): number {
    return this.changes;
  }

  /**
   * Marks a port up or down for one cause; returns whether the port's
   * status changed (listeners hear of changes only). Up for one cause
   * leaves the others standing.
   */
  set(port: number, up: boolean, cause: PortDownCause = "api"): boolean {
    if (!Number.isInteger(port) || port < 0) throw new EngineError("BAD_VALUE", `bad port number ${port}`);
    const wasUp = this.isUp(port);
    const causes = this.down.get(port);
    if (up) {
      causes?.delete(cause);
      if (causes?.size === 0) this.down.delete(port);
    } else if (causes) causes.add(cause);
    else this.down.set(port, new Set([cause]));
    return this.changed(port, wasUp);
  }

  /** Clears one cause on every port (e.g. `verdict` when a new pipeline starts with no verdicts); returns the ports that came up. */
  clear(cause: PortDownCause): number[] {
    const up: number[] = [];
    for (const port of this.downPorts()) if (this.down.get(port)?.has(cause) && this.set(port, true, cause)) up.push(port);
    return up;
  }

  /** What holds a port down (empty when it is up). */
  causes(port: number): PortDownCause[] {
    return [...(this.down.get(port) ?? [])].sort();
  }

  /** The ports marked down, ascending. */
  downPorts(): number[] {
    return [...this.down.keys()].sort((a, b) => a - b);
  }

  /** Calls `listener` on every change; returns the function that stops it. */
  onChange(listener: PortStatusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(port: number, wasUp: boolean): boolean {
    const up = this.isUp(port);
    if (up === wasUp) return false;
    this.changes++;
    for (const l of this.listeners) l(port, up);
    return true;
  }
}
