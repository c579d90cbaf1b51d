/**
 * In-process links: two ends, each a Port; a frame sent on one end arrives
 * at the other. A link can be cut and restored (for failure experiments),
 * silently (frames lost, both ends still up) or with its carrier (both ends
 * see the link go down, as a pulled cable or a downed veth does), can hold
 * every frame for a while in flight (a long or congested path, a busy
 * machine's queues), and counts what it carried.
 */
import { FrameQueue, type Port } from "./port.js";

export class LinkEnd implements Port {
  readonly inbox = new FrameQueue();
  peer!: LinkEnd;
  constructor(
    readonly name: string,
    private readonly link: VirtualLink,
  ) {}

  send(frame: Uint8Array): void {
    if (!this.link.up) {
      this.link.dropped++;
      return;
    }
    this.link.carried++;
    const delay = this.link.delayMs;
    if (delay <= 0) {
      this.peer.inbox.push(frame);
      return;
    }
    // In flight: timers of one duration fire in the order they were set, so frames keep their order.
    const cuts = this.link.cuts;
    setTimeout(() => {
      if (this.link.cuts === cuts) this.peer.inbox.push(frame);
      else this.link.dropped++;
    }, delay);
  }

  onReceive(handler: (frame: Uint8Array) => void): void {
    this.inbox.setHandler(handler);
  }

  /**
   * Hears the link's carrier now and whenever it goes down or up
   * (cut({ carrier: true }), restore()). An end belongs to one switch at a
   * time: a new watcher (a switch restarted on the same end) replaces the
   * old one.
   */
  watchLink(handler: (up: boolean) => void): void {
    this.watcher = handler;
    handler(this.link.carrier);
  }

  /** @internal called by the link. */
  carrierChanged(up: boolean): void {
    this.watcher?.(up);
  }

  private watcher: ((up: boolean) => void) | undefined;

  close(): void {
    this.inbox.close();
  }

  reopen(): void {
    this.inbox.reopen();
  }
}

export class VirtualLink {
  readonly a: LinkEnd;
  readonly b: LinkEnd;
  up = true;
  /** Whether the ends see the link (false after a cut with the carrier). */
  carrier = true;
  carried = 0;
  dropped = 0;
  /** How long every frame is in flight (ms); a frame in flight when the link is cut is lost. */
  delayMs = 0;
  /** Cuts so far: a frame in flight is lost when the link was cut after it was sent. */
  cuts = 0;

  constructor(nameA: string, nameB: string) {
    this.a = new LinkEnd(nameA, this);
    this.b = new LinkEnd(nameB, this);
    this.a.peer = this.b;
    this.b.peer = this.a;
  }

  /** Cuts the link: frames in both directions are lost until restored; with `carrier`, both ends also see it go down. */
  cut(opts: { carrier?: boolean } = {}): void {
    this.up = false;
    this.cuts++;
    if (opts.carrier) this.setCarrier(false);
  }

  restore(): void {
    this.up = true;
    this.setCarrier(true);
  }

  private setCarrier(up: boolean): void {
    if (this.carrier === up) return;
    this.carrier = up;
    this.a.carrierChanged(up);
    this.b.carrierChanged(up);
  }
}

/**
 * A host-side endpoint for tests and experiments: records what the switch
 * sends it and can inject frames into the switch. `end` is the host's side
 * of a link: a virtual link's end, or a raw interface facing a real switch.
 */
export class HostPort {
  readonly received: Uint8Array[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];
  private readonly listeners: ((frame: Uint8Array) => void)[] = [];

  constructor(readonly end: Port) {
    end.onReceive((f) => {
      this.received.push(f);
      for (const l of this.listeners) l(f);
      if (this.waiters.length === 0) return;
      this.waiters = this.waiters.filter((w) => {
        if (this.received.length >= w.n) {
          w.resolve();
          return false;
        }
        return true;
      });
    });
  }

  send(frame: Uint8Array): void {
    this.end.send(frame);
  }

  /** Adds a listener for every frame the switch sends to this host. */
  onFrame(fn: (frame: Uint8Array) => void): void {
    this.listeners.push(fn);
  }

  /** Resolves once `n` frames in total have arrived, or after `timeoutMs`. */
  waitFor(n: number, timeoutMs = 1000): Promise<void> {
    if (this.received.length >= n) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        resolve();
      }, timeoutMs);
      const done = () => {
        clearTimeout(t);
        resolve();
      };
      this.waiters.push({ n, resolve: done });
    });
  }

  clear(): void {
    this.received.length = 0;
  }
}
