/**
 * Where the live view draws each switch and host: computed from the
 * topology alone, so the picture is the same at every refresh and in every
 * browser. Switches are placed in columns by hop distance from the root (the
 * first session's ingress router, else the first switch); each column is
 * ordered by the mean row of its neighbours in the previous column (ties by
 * name) and bent into an arc (x grows with the square of the row), so that
 * no link between two switches of one column runs through a third. A
 * switch's hosts fan out beside it.
 */
import type { Topology } from "../topology/schema.js";

export interface Point {
  readonly x: number;
  readonly y: number;
}

const COLUMN = 240;
const ROW = 130;
/** x offset per squared row within a column. */
const ARC = 30;
const HOST_DX = 100;
const HOST_DY = 38;

export function layout(topology: Topology): { switches: Map<string, Point>; hosts: Map<string, Point> } {
  const names = topology.switches.map((s) => s.name);
  const neighbours = new Map<string, Set<string>>(names.map((n) => [n, new Set()]));
  for (const l of topology.links) {
    const [a, b] = l.ends;
    neighbours.get(a.switch)?.add(b.switch);
    neighbours.get(b.switch)?.add(a.switch);
  }
  const firstSource = topology.sessions[0] && topology.hosts.find((h) => h.name === topology.sessions[0]!.source)?.attach.switch;
  const root = firstSource ?? names[0];
  const depth = new Map<string, number>();
  const columns: string[][] = [];
  // Breadth-first from the root; switches it cannot reach start their own search, in file order.
  for (const start of root ? [root, ...names] : names) {
    if (depth.has(start)) continue;
    const base = columns.length && start !== root ? columns.length : 0;
    depth.set(start, base);
    const queue = [start];
    while (queue.length) {
      const n = queue.shift()!;
      const d = depth.get(n)!;
      const column = columns[d];
      if (column) column.push(n);
      else columns[d] = [n];
      for (const m of [...neighbours.get(n)!].sort()) {
        if (depth.has(m)) continue;
        depth.set(m, d + 1);
        queue.push(m);
      }
    }
  }
  const row = new Map<string, number>();
  columns.forEach((col, c) => {
    const key = (n: string) => {
      const prev = [...neighbours.get(n)!].filter((m) => depth.get(m) === c - 1);
      return prev.length ? prev.reduce((s, m) => s + row.get(m)!, 0) / prev.length : 0;
    };
    col.sort((a, b) => key(a) - key(b) || (a < b ? -1 : a > b ? 1 : 0));
    for (const [i, n] of col.entries()) row.set(n, i - (col.length - 1) / 2);
  });
  const switches = new Map<string, Point>(
    names.map((n) => [n, { x: depth.get(n)! * COLUMN + ARC * row.get(n)! ** 2, y: row.get(n)! * ROW }]),
  );
  const hosts = new Map<string, Point>();
  const last = columns.length - 1;
  for (const sw of names) {
    const mine = topology.hosts.filter((h) => h.attach.switch === sw);
    const p = switches.get(sw)!;
    // Hosts of the first column go left, of the others right (the last column's stay clear of every link).
    const dx = depth.get(sw) === 0 && last > 0 ? -HOST_DX : HOST_DX;
    for (const [i, h] of mine.entries()) hosts.set(h.name, { x: p.x + dx, y: p.y + (i - (mine.length - 1) / 2) * HOST_DY });
  }
  return { switches, hosts };
}
