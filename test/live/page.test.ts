/**
 * The live page in headless Chromium (Debian's chromium driven by
 * playwright-core, which downloads no browser): mesh8 on embedded switches,
 * the graph shows the eight switches and session 1's tree, every link
 * labelled with its ends' round trips (fast-path heartbeats: the switches'
 * hb_rtt), and a row with its own delivered count per session and client; a tree link is
 * cut in the lab and the page shows the link down and the repaired tree
 * within 2 s of the controller's repair event. Screenshots go to
 * test-output/live/.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { describeUnless } from "../support/skips.js";
import { chromiumMissing, outputDir, planTree, startLiveLab, until, type LiveLab } from "./support.js";

const chromium = chromiumMissing();

/** What the page draws now (read from its Cytoscape instance and its DOM). */
interface PageView {
  updates: number;
  switches: string[];
  tree: string[];
  selected: number | undefined;
  linkState: Record<string, string>;
  linksDown: string[];
  clientRows: number;
  /** "session/client@lastHop" → the copies the client got, as the clients table shows them. */
  delivered: Record<string, number>;
  /** Link name → its label (the round trips of its ends). */
  linkLabel: Record<string, string>;
  timeline: string[];
}

/** What pageView reads of Cytoscape.js and the DOM (this project compiles without the DOM's types). */
interface CyElement {
  data(key: string): string;
}
interface CyCollection {
  forEach(f: (e: CyElement) => void): void;
  map<T>(f: (e: CyElement) => T): T[];
}
interface PageGlobals {
  p4castView: { cy?: { nodes(selector: string): CyCollection; edges(selector: string): CyCollection }; updates: number; selected?: number };
  document: { querySelectorAll(selector: string): ArrayLike<DomElement> & Iterable<DomElement> };
}
interface DomElement {
  getAttribute(name: string): string | null;
}

async function pageView(page: Page): Promise<PageView> {
  return page.evaluate(() => {
    // Runs in the page: its globals are the browser's.
    const g = globalThis as unknown as PageGlobals;
    const v = g.p4castView;
    const document = g.document;
    const cy = v.cy;
    if (!cy)
      return {
        updates: v.updates,
        switches: [],
        tree: [],
        selected: v.selected,
        linkState: {},
        linksDown: [],
        clientRows: 0,
        delivered: {},
        linkLabel: {},
        timeline: [],
      };
    const linkState: Record<string, string> = {};
    const linkLabel: Record<string, string> = {};
    cy.edges('[kind = "link"]').forEach((e) => {
      linkState[e.data("name")] = e.data("state");
      linkLabel[e.data("name")] = e.data("label");
    });
    const delivered: Record<string, number> = {};
    for (const tr of document.querySelectorAll("#clients tbody tr")) {
      delivered[`${tr.getAttribute("data-session")}/${tr.getAttribute("data-client")}@${tr.getAttribute("data-last-hop")}`] = Number(
        tr.getAttribute("data-delivered"),
      );
    }
    return {
      updates: v.updates,
      switches: cy
        .nodes('[kind = "switch"]')
        .map((n) => n.data("label"))
        .sort(),
      tree: cy
        .edges('[kind = "tree"]')
        .map((e) => `${e.data("from")}→${e.data("to")}`)
        .sort(),
      selected: v.selected,
      linkState,
      linksDown: [...document.querySelectorAll("#links-down li[data-link]")].map((li) => li.getAttribute("data-link") as string),
      clientRows: document.querySelectorAll("#clients tbody tr").length,
      delivered,
      linkLabel,
      timeline: [...document.querySelectorAll("#timeline li")].map((li) => li.getAttribute("data-kind") as string),
    };
  });
}

describeUnless(chromium.missing, "live view in headless Chromium (mesh8, embedded switches)", () => {
  let lab: LiveLab;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    const { chromium: driver } = await import("playwright-core");
    lab = await startLiveLab();
    browser = await driver.launch({ executablePath: chromium.path, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
    page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    (lab as { pageErrors?: string[] }).pageErrors = errors;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await lab?.stop();
  });

  it("draws the eight switches and session 1's tree; every link's heartbeats are answered", async () => {
    await page.goto(lab.live.url);
    await until(async () => (await pageView(page)).switches.length === 8, 30_000, "the page draws the switches");
    const v = await pageView(page);
    expect(v.switches).toEqual(["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"]);
    expect(v.selected).toBe(1);
    expect(v.tree).toEqual(planTree(lab.ctl, 1));
    expect(v.tree).toEqual(["s1→s2", "s1→s3", "s2→s4", "s3→s5", "s4→s6", "s4→s7", "s5→s8"]);
    // Heartbeats answered on all twelve links (a busy machine may take a few intervals).
    await until(
      async () => Object.values((await pageView(page)).linkState).filter((s) => s === "up").length === 12,
      30_000,
      "every link shown up",
    );
    // Per-client counters: six clients of session 1, three of session 2, each with its own delivered count (nothing sent yet).
    await until(async () => (await pageView(page)).clientRows === 9, 30_000, "the page lists the clients' counters");
    expect(Object.keys((await pageView(page)).delivered).sort()).toEqual([
      "1/c61@s6",
      "1/c62@s6",
      "1/c71@s7",
      "1/c72@s7",
      "1/c81@s8",
      "1/c82@s8",
      "2/c61@s6",
      "2/c71@s7",
      "2/c81@s8",
    ]);
    expect(Object.values((await pageView(page)).delivered).every((n) => n === 0)).toBe(true);
    // Fast-path heartbeats: each link is labelled with its ends' round trips, as the switches' data planes measured them.
    await until(
      async () => Object.values((await pageView(page)).linkLabel).filter((l) => /^\d+\.\d+ ms \/ \d+\.\d+ ms$/.test(l)).length === 12,
      30_000,
      "every link labelled with its ends' round trips",
    );
    await page.screenshot({ path: join(outputDir(), "mesh8-before-cut.png") });
    expect((lab as { pageErrors?: string[] }).pageErrors).toEqual([]);
  });

  it("a cut tree link shows down, and the repaired tree is drawn, within 2 s of the repair", async () => {
    const sp = lab.ctl.currentPlan!.sessions.get(1)!;
    const branch = sp.tree.branch.get("s6")!;
    const link = branch[branch.length - 1]!.link;
    const name = lab.ctl.graph.linkName(link);
    expect(name).toBe("s4:3-s6:3");
    const before = (await pageView(page)).updates;
    const cutAt = performance.now();
    lab.net.link(link).cut();
    await until(() => lab.failovers.some((f) => f.link === name && !f.up), 30_000, `the controller repairs after ${name}`, 5);
    const repair = lab.failovers.find((f) => f.link === name && !f.up)!;
    const repairLine = lab.log.find((l) => l.text.startsWith(`repair after ${name} down`));
    expect(repairLine, "the controller's repair log line").toBeDefined();
    const repaired = planTree(lab.ctl, 1);
    expect(repaired).not.toContain("s4→s6");
    let shownAt: number | undefined;
    const shown = (v: PageView) =>
      v.linkState[name] === "down" && v.linksDown.includes(name) && JSON.stringify(v.tree) === JSON.stringify(repaired);
    await until(
      async () => {
        const ok = shown(await pageView(page));
        if (ok) shownAt = performance.now();
        return ok;
      },
      10_000,
      `the page shows ${name} down and session 1's repaired tree ${repaired.join(" ")}`,
      10,
    );
    const afterRepairMs = Math.max(0, shownAt! - Math.min(repair.atMs, repairLine!.atMs));
    console.log(
      `[live view] ${name} cut: repair event ${(repair.atMs - cutAt).toFixed(0)} ms after the cut ` +
        `(${repair.writes} writes, ${repair.repairMs.toFixed(1)} ms from the verdict); ` +
        `the page showed the link down and the repaired tree ${(shownAt! - cutAt).toFixed(0)} ms after the cut, ` +
        `${afterRepairMs.toFixed(0)} ms after the repair event`,
    );
    expect(afterRepairMs).toBeLessThan(2000);
    expect((await pageView(page)).updates).toBeGreaterThan(before);
    await until(
      async () => {
        const t = (await pageView(page)).timeline;
        return t.includes("link-down") && t.includes("repair");
      },
      10_000,
      "the timeline lists the link down and the repair",
    );
    await page.screenshot({ path: join(outputDir(), "mesh8-after-cut.png") });
    expect((lab as { pageErrors?: string[] }).pageErrors).toEqual([]);
  });
});
