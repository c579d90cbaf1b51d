/** exit, _jump, random, header equality, union stacks, timestamps, priority queues, const entries. */
import { describe, expect, it } from "vitest";
import { EngineError, loadEngine } from "../../src/switch/engine/index.js";
import { type J, assign, expr, f, headerType, hex, prim, program, rd, table } from "./fixtures.js";

const sm = (x: string) => f("standard_metadata", x);
const H = (n: string): J => ({ type: "header", value: n });

function prog(
  actions: J[],
  opts: { extraHeaders?: J[]; extraTypes?: J[]; order?: string[]; parser?: J; extra?: Record<string, J>; tableExtra?: J; key?: J[] } = {},
): J {
  return program({
    headerTypes: [
      headerType("o_t", 2, [
        ["a", 8, false],
        ["b", 8, false],
        ["c", 16, false],
        ["d", 48, false],
      ]),
      ...(opts.extraTypes ?? []),
    ],
    headers: [
      { name: "o", id: 2, header_type: "o_t", metadata: false },
      { name: "o2", id: 3, header_type: "o_t", metadata: false },
      ...(opts.extraHeaders ?? []),
    ],
    deparserOrder: opts.order ?? ["o"],
    ...(opts.parser ? { parser: opts.parser } : {}),
    actions,
    ingress: {
      name: "ingress",
      id: 0,
      init_table: "t",
      tables: [
        table(
          "t",
          0,
          opts.key ?? [],
          actions.map((a, i) => [a.name, i] as [string, number]),
          [0, (actions[0].runtime_data ?? []).map(() => "0x0")],
          null,
          opts.tableExtra ?? {},
        ),
      ],
      action_profiles: [],
      conditionals: [],
    },
    ...(opts.extra ? { extra: opts.extra } : {}),
  });
}

const first = (out: { data: Uint8Array }[]) => [...out[0]!.data];

describe("more primitives", () => {
  it("exit stops the pipeline after the action", () => {
    const j = prog([
      { name: "a", id: 0, runtime_data: [], primitives: [prim("add_header", H("o")), assign(f("o", "a"), hex(1)), prim("exit")] },
    ]);
    j.pipelines[0].tables[0].base_default_next = "t2";
    j.pipelines[0].tables[0].next_tables = { a: "t2" };
    j.actions.push({ name: "b", id: 1, runtime_data: [], primitives: [assign(f("o", "a"), hex(2))] });
    j.pipelines[0].tables.push(table("t2", 1, [], [["b", 1]], [1, []], null));
    const e = loadEngine(j);
    expect(first(e.process(0, new Uint8Array(0)))[0]).toBe(1);
    j.actions[0].primitives.pop();
    expect(first(loadEngine(j).process(0, new Uint8Array(0)))[0]).toBe(2);
  });

  it("_jump / _jump_if_zero", () => {
    const e = loadEngine(
      prog([
        {
          name: "a",
          id: 0,
          runtime_data: [{ name: "x", bitwidth: 8 }],
          primitives: [
            prim("add_header", H("o")),
            prim("_jump_if_zero", expr("b2d", null, expr("==", rd(0), hex(5))), hex(4)),
            assign(f("o", "a"), hex(0x55)),
            prim("_jump", hex(5)),
            assign(f("o", "a"), hex(0xaa)),
            assign(f("o", "b"), rd(0)),
          ],
        },
      ]),
    );
    e.setDefaultAction("t", { kind: "action", call: { action: "a", args: [5n] } });
    expect(first(e.process(0, new Uint8Array(0))).slice(0, 2)).toEqual([0x55, 5]);
    e.setDefaultAction("t", { kind: "action", call: { action: "a", args: [6n] } });
    expect(first(e.process(0, new Uint8Array(0))).slice(0, 2)).toEqual([0xaa, 6]);
  });

  it("modify_field_rng_uniform draws from the given source", () => {
    let r = 0;
    const e = loadEngine(
      prog([
        {
          name: "a",
          id: 0,
          runtime_data: [],
          primitives: [prim("add_header", H("o")), prim("modify_field_rng_uniform", f("o", "c"), hex(100), hex(199))],
        },
      ]),
      { random: () => r },
    );
    const c = () => {
      const d = first(e.process(0, new Uint8Array(0)));
      return (d[2]! << 8) | d[3]!;
    };
    expect(c()).toBe(100);
    r = 0.999999;
    expect(c()).toBe(199);
    r = 0.5;
    expect(c()).toBe(150);
  });

  it("header equality, assign_header, remove_header updates packet_length", () => {
    const e = loadEngine(
      prog(
        [
          {
            name: "a",
            id: 0,
            runtime_data: [],
            primitives: [
              prim("add_header", H("o")),
              prim("add_header", H("o2")),
              assign(f("o", "b"), expr("b2d", null, expr("==", H("o"), H("o2")))),
              assign(f("o2", "c"), hex(1)),
              assign(f("o", "a"), expr("b2d", null, expr("==", H("o"), H("o2")))),
              assign(f("o", "d"), expr("&", sm("packet_length"), hex(0xffff))),
              prim("remove_header", H("o2")),
            ],
          },
        ],
        { order: ["o", "o2"] },
      ),
    );
    const d = first(e.process(0, new Uint8Array([9, 9, 9])));
    expect(d.slice(0, 2)).toEqual([0, 1]);
    expect(d.length).toBe(10 + 3);
  });

  it("timestamps are microseconds since start; priority > 0 is dropped like simple_switch's single queue", () => {
    let now = 10_000_000n;
    const e = loadEngine(
      prog([
        {
          name: "a",
          id: 0,
          runtime_data: [{ name: "p", bitwidth: 3 }],
          primitives: [prim("add_header", H("o")), assign(f("o", "d"), sm("ingress_global_timestamp")), assign(sm("priority"), rd(0))],
        },
      ]),
      { clock: () => now },
    );
    now += 1234n;
    const d = first(e.process(0, new Uint8Array(0)));
    expect(d.slice(4, 10)).toEqual([0, 0, 0, 0, 0x04, 0xd2]);
    e.setDefaultAction("t", { kind: "action", call: { action: "a", args: [1n] } });
    expect(e.process(0, new Uint8Array(0))).toEqual([]);
  });

  it("const entries make the table immutable; const default actions cannot change", () => {
    const j = prog(
      [
        {
          name: "a",
          id: 0,
          runtime_data: [{ name: "v", bitwidth: 8 }],
          primitives: [prim("add_header", H("o")), assign(f("o", "a"), rd(0))],
        },
        { name: "b", id: 1, runtime_data: [], primitives: [] },
      ],
      {
        key: [{ match_type: "ternary", name: "p", target: ["standard_metadata", "ingress_port"], mask: null }],
        tableExtra: {
          entries: [
            {
              match_key: [{ match_type: "ternary", key: "0x0001", mask: "0x0001" }],
              action_entry: { action_id: 0, action_data: ["0x11"] },
              priority: 2,
            },
            {
              match_key: [{ match_type: "ternary", key: "0x0003", mask: "0x0003" }],
              action_entry: { action_id: 0, action_data: ["0x33"] },
              priority: 1,
            },
          ],
          default_entry: { action_id: 1, action_const: true, action_data: [], action_entry_const: true },
        },
      },
    );
    const e = loadEngine(j);
    expect(first(e.process(3, new Uint8Array(0)))[0]).toBe(0x33);
    expect(first(e.process(1, new Uint8Array(0)))[0]).toBe(0x11);
    expect(e.process(2, new Uint8Array(0))[0]!.data.length).toBe(0);
    expect(e.entries("t")).toHaveLength(2);
    expect(() =>
      e.addEntry("t", {
        key: [{ kind: "ternary", value: 0n, mask: 0n }],
        priority: 1,
        action: { kind: "action", call: { action: "b", args: [] } },
      }),
    ).toThrow(EngineError);
    expect(() => e.setDefaultAction("t", { kind: "action", call: { action: "a", args: [1n] } })).toThrow(/const/);
  });

  it("header union stacks: extract into a member, count with size_stack", () => {
    const j = prog(
      [
        {
          name: "a",
          id: 0,
          runtime_data: [],
          primitives: [
            prim("add_header", H("o")),
            assign(f("o", "a"), expr("size_stack", null, { type: "header_union_stack", value: "us" })),
            assign(f("o", "b"), expr("b2d", null, expr("valid_union", null, { type: "header_union", value: "us[1]" }))),
          ],
        },
      ],
      {
        extraTypes: [headerType("x_t", 4, [["v", 8, false]]), headerType("y_t", 5, [["w", 16, false]])],
        extraHeaders: [
          { name: "us[0].x", id: 4, header_type: "x_t", metadata: false },
          { name: "us[0].y", id: 5, header_type: "y_t", metadata: false },
          { name: "us[1].x", id: 6, header_type: "x_t", metadata: false },
          { name: "us[1].y", id: 7, header_type: "y_t", metadata: false },
        ],
        order: ["o", "us[0].x", "us[0].y", "us[1].x", "us[1].y"],
        extra: {
          header_union_types: [
            {
              name: "u_t",
              id: 0,
              headers: [
                ["x", "x_t"],
                ["y", "y_t"],
              ],
            },
          ],
          header_unions: [
            { name: "us[0]", id: 0, union_type: "u_t", header_ids: [4, 5] },
            { name: "us[1]", id: 1, union_type: "u_t", header_ids: [6, 7] },
          ],
          header_union_stacks: [{ name: "us", id: 0, union_type: "u_t", header_union_ids: [0, 1] }],
        },
        parser: {
          name: "parser",
          id: 0,
          init_state: "start",
          parse_states: [
            {
              name: "start",
              id: 0,
              parser_ops: [
                { op: "extract", parameters: [{ type: "union_stack", value: ["us", "y"] }] },
                { op: "extract", parameters: [{ type: "union_stack", value: ["us", "x"] }] },
              ],
              transition_key: [{ type: "union_stack_field", value: ["us", "x", "v"] }],
              transitions: [{ type: "default", value: null, mask: null, next_state: null }],
            },
          ],
        },
      },
    );
    const d = first(loadEngine(j).process(0, new Uint8Array([1, 2, 3, 4])));
    expect(d.slice(0, 2)).toEqual([2, 1]);
    expect(d.slice(10)).toEqual([1, 2, 3, 4]);
  });

  it("action_calls nodes run a parameterless action and continue", () => {
    const j = prog([
      { name: "a", id: 0, runtime_data: [], primitives: [prim("add_header", H("o")), assign(f("o", "a"), hex(3))] },
      { name: "b", id: 1, runtime_data: [], primitives: [assign(f("o", "b"), expr("&", expr("+", f("o", "a"), hex(1)), hex(0xff)))] },
    ]);
    j.pipelines[0].init_table = "call_a";
    j.pipelines[0].tables = [];
    j.pipelines[0].action_calls = [
      { name: "call_a", id: 0, action_id: 0, next_node: "call_b" },
      { name: "call_b", id: 1, action_id: 1, next_node: null },
    ];
    expect(first(loadEngine(j).process(0, new Uint8Array(0))).slice(0, 2)).toEqual([3, 4]);
  });

  it("mark_to_drop acts on the header it is given (p4c passes a copy of standard_metadata)", () => {
    const j = prog([
      {
        name: "a",
        id: 0,
        runtime_data: [],
        primitives: [
          assign(f("smeta", "egress_spec"), sm("egress_spec")),
          prim("mark_to_drop", H("smeta")),
          assign(sm("egress_spec"), f("smeta", "egress_spec")),
        ],
      },
    ]);
    j.header_types.push({ name: "smeta_t", id: 9, fields: j.header_types[1].fields });
    j.headers.push({ name: "smeta", id: 9, header_type: "smeta_t", metadata: true });
    expect(loadEngine(j).process(0, new Uint8Array(4))).toEqual([]);
    // without the copy-back the packet goes out on port 0
    j.actions[0].primitives.pop();
    expect(
      loadEngine(j)
        .process(0, new Uint8Array(4))
        .map((o) => o.port),
    ).toEqual([0]);
  });

  it("stops a packet that recirculates forever", () => {
    // the recirculate flag is the field list id, so it must be non-zero
    const j = prog([{ name: "a", id: 0, runtime_data: [], primitives: [prim("recirculate", hex(1))] }]);
    j.field_lists = [{ id: 1, name: "fl", elements: [] }];
    j.pipelines[1] = {
      ...j.pipelines[0],
      name: "egress",
      id: 1,
      tables: [{ ...j.pipelines[0].tables[0], name: "te", id: 1 }],
      init_table: "te",
    };
    const logs: string[] = [];
    const e = loadEngine(j, { log: (m) => logs.push(m) });
    expect(e.process(0, new Uint8Array(8))).toEqual([]);
    expect(logs.some((l) => /recirculation loop/.test(l))).toBe(true);
  });
});
