/**
 * The operational status of a switch's ports as its data plane sees it:
 * every port is up until it is marked down. The packet replication engine
 * reads it to choose between a replica and its backups, action selectors to
 * leave out members whose watch port is down. A switch keeps one for all the
 * pipelines it loads, so a new pipeline starts with the ports as they are.
 */
import { EngineError } from "./runtime-api.js";

export type PortStatusListener = (port: number, up: boolean) => void;

export class PortStatus {
  private readonly down = new Set<number>();
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

  /** Marks a port up or down; returns whether its status changed (listeners hear of changes only). */
  set(port: number, up: boolean): boolean {
    if (!Number.isInteger(port) || port < 0) throw new EngineError("BAD_VALUE", `bad port number ${port}`);
    if (up === this.isUp(port)) return false;
    if (up) this.down.delete(port);
    else this.down.add(port);
    this.changes++;
    for (const l of this.listeners) l(port, up);
    return true;
  }

  /** The ports marked down, ascending. */
  downPorts(): number[] {
    return [...this.down].sort((a, b) => a - b);
  }

  /** Calls `listener` on every change; returns the function that stops it. */
  onChange(listener: PortStatusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
