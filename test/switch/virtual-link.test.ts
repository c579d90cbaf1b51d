/**
 * In-process links (src/switch/ports/virtual-link.ts) and the embedded
 * switch's port status: a silent cut loses frames and leaves both ports up;
 * a cut with the carrier also takes both ports down (so backup replicas
 * take over at once); restore() brings frames and carrier back; a delay
 * holds frames in flight, in order, and a cut loses those still in flight.
 */
import { describe, expect, it } from "vitest";
import { EmbeddedSwitch } from "../../src/switch/embedded-switch.js";
import { VirtualLink } from "../../src/switch/ports/virtual-link.js";

describe("virtual links: silent cuts and carrier cuts", () => {
  it("the ends hear the carrier only when a cut takes it", async () => {
    const l = new VirtualLink("a", "b");
    const heard: string[] = [];
    l.a.watchLink((up) => heard.push(`a ${up}`));
    l.b.watchLink((up) => heard.push(`b ${up}`));
    const got: Uint8Array[] = [];
    l.b.onReceive((f) => got.push(f));
    l.cut();
    l.a.send(new Uint8Array([1]));
    l.restore();
    expect(heard, "the carrier as it is when watching starts; a silent cut and its restore: no change").toEqual(["a true", "b true"]);
    l.cut({ carrier: true });
    l.a.send(new Uint8Array([2]));
    l.restore();
    l.a.send(new Uint8Array([3]));
    await new Promise((r) => setTimeout(r, 10));
    // Each end hears the carrier as it is when it starts watching (up), then its changes.
    expect(heard).toEqual(["a true", "b true", "a false", "b false", "a true", "b true"]);
    expect(got.map((f) => f[0])).toEqual([3]);
    expect(l.dropped).toBe(2);
  });

  it("a delay holds every frame in flight, in order; a cut loses the frames still in flight", async () => {
    const l = new VirtualLink("a", "b");
    l.delayMs = 30;
    const got: { n: number; at: number }[] = [];
    l.b.onReceive((f) => got.push({ n: f[0]!, at: performance.now() }));
    const t0 = performance.now();
    for (let n = 1; n <= 5; n++) l.a.send(new Uint8Array([n]));
    expect(got).toEqual([]);
    await new Promise((r) => setTimeout(r, 80));
    expect(got.map((g) => g.n)).toEqual([1, 2, 3, 4, 5]);
    for (const g of got) expect(g.at - t0).toBeGreaterThanOrEqual(29);
    l.a.send(new Uint8Array([6]));
    l.cut();
    l.restore();
    await new Promise((r) => setTimeout(r, 80));
    l.cut();
    expect(
      got.map((g) => g.n),
      "the frame in flight during the cut is lost",
    ).toEqual([1, 2, 3, 4, 5]);
    expect(l.dropped).toBe(1);
    expect(l.carried).toBe(6);
  });

  it("an embedded switch's port follows the carrier of its link, not a silent cut", () => {
    const sw = new EmbeddedSwitch({ name: "s1", logLevel: "off" });
    const l = new VirtualLink("s1-eth1", "s2-eth1");
    sw.attach(1, l.a);
    l.cut();
    expect(sw.isPortUp(1)).toBe(true);
    l.restore();
    l.cut({ carrier: true });
    expect(sw.isPortUp(1)).toBe(false);
    expect(sw.portStatus.causes(1)).toEqual(["link"]);
    l.restore();
    expect(sw.isPortUp(1)).toBe(true);
    void sw.close();
  });

  it("a switch that attaches to an end during a carrier cut sees its port down (a restarted switch)", () => {
    const l = new VirtualLink("s1-eth1", "s2-eth1");
    l.cut({ carrier: true });
    const old = new EmbeddedSwitch({ name: "s1", logLevel: "off" });
    old.attach(1, l.a);
    void old.close();
    const sw = new EmbeddedSwitch({ name: "s1", logLevel: "off" });
    sw.attach(1, l.a);
    expect(sw.isPortUp(1)).toBe(false);
    l.restore();
    expect(sw.isPortUp(1)).toBe(true);
    void sw.close();
  });
});
