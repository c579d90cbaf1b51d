/**
 * The BMv2 JSON input format (behavioral-model's docs/JSON_format.md), as far
 * as the engine reads it: one type per kind of section element, the
 * type/value operands with their expression trees, and the readers that
 * check an unknown value and hand it back typed.
 *
 * A value of one of these types has been through its reader: the attributes
 * the type lists have the stated shapes. Names (headers, states, tables, ...)
 * are only resolved later, by the compiler, which reports unknown ones.
 * Attributes the engine does not read (most ids, source_info, pi_omit, ...)
 * are not part of the types. Readers check values in place and return them
 * without copying, so error messages can quote the document as written; the
 * parser readers, which normalize a little, are the exception.
 */
import { malformed, unsupported } from "./errors.js";

// -- plain JSON checks ----------------------------------------------------------

/** A JSON object whose attributes have not been checked yet. */
export type JsonObject = { readonly [key: string]: unknown };

export function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

export function obj(v: unknown, what: string): JsonObject {
  if (!isObject(v)) throw malformed(`${what} must be an object`);
  return v;
}

export function arr(v: unknown, what: string): readonly unknown[] {
  if (!isList(v)) throw malformed(`${what} must be an array`);
  return v;
}

function isList(v: unknown): v is readonly unknown[] {
  return Array.isArray(v);
}

const isString = (x: unknown): x is string => typeof x === "string";
const isInteger = (x: unknown): x is number => Number.isInteger(x);

/** `v` is an array with one element per check, each passing its check. */
function isTuple(v: unknown, ...checks: ((x: unknown) => boolean)[]): v is readonly unknown[] {
  return isList(v) && v.length === checks.length && checks.every((check, i) => check(v[i]));
}

export function str(v: unknown, what: string): string {
  if (typeof v !== "string") throw malformed(`${what} must be a string`);
  return v;
}

export function int(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw malformed(`${what} must be an integer`);
  return v;
}

/** Checks an optional attribute: absent (undefined) or accepted by `check`. */
function opt(v: unknown, check: (v: unknown) => unknown): void {
  if (v !== undefined) check(v);
}

/** Checks an attribute that may be absent or null. */
function nullable(v: unknown, check: (v: unknown) => unknown): void {
  if (v !== undefined && v !== null) check(v);
}

function bool(v: unknown, what: string): boolean {
  if (typeof v !== "boolean") throw malformed(`${what} must be true or false`);
  return v;
}

function hexstr(v: unknown): Hexstr {
  // parseHex() checks the digits when the value is used
  if (typeof v !== "string") throw malformed(`expected hexstr, got ${JSON.stringify(v)}`);
  return v;
}

function strings(v: unknown, what: string): readonly string[] {
  const a = arr(v, what);
  if (!a.every(isString)) throw malformed(`an element of ${what} must be a string`);
  return a;
}

function ints(v: unknown, what: string): readonly number[] {
  const a = arr(v, what);
  if (!a.every(isInteger)) throw malformed(`an element of ${what} must be an integer`);
  return a;
}

/** Types `v` as T once the calling reader has checked what T states. */
function checked<T>(v: JsonObject): T {
  return v as unknown as T;
}

// -- operands (type/value objects) and expressions ---------------------------

/** A hexadecimal string, optionally negative: "0x0800", "-0x1". */
export type Hexstr = string;

/** A field as [header instance, field]; the field "$valid$" is the header's validity bit. */
export type FieldName = readonly [header: string, field: string];

/** A field; p4c gives the header as an operand when it is chosen at run time (stack[i].f). */
export interface FieldValue {
  readonly type: "field";
  readonly value: FieldName | readonly [header: TypeValue, field: string];
}

export interface HexstrValue {
  readonly type: "hexstr";
  readonly value: Hexstr;
}

export interface BoolValue {
  readonly type: "bool";
  readonly value: boolean;
}

export interface StringValue {
  readonly type: "string";
  readonly value: string;
}

/** Index into the enclosing action's parameters ("local" reads the same values). */
export interface RuntimeDataValue {
  readonly type: "runtime_data" | "local";
  readonly value: number;
}

/** A header instance by name, or an operand that resolves to a header. */
export interface HeaderValue {
  readonly type: "header";
  readonly value: string | TypeValue;
}

/** The kinds of object an operand names with a plain string. */
export type NamedKind =
  | "header_stack"
  | "header_union"
  | "header_union_stack"
  | "calculation"
  | "register_array"
  | "counter_array"
  | "meter_array"
  | "extern";

export interface NamedValue {
  readonly type: NamedKind;
  readonly value: string;
}

/** A field of the last valid element of a header stack. */
export interface StackFieldValue {
  readonly type: "stack_field";
  readonly value: readonly [stack: string, field: string];
}

/** A field of a member of the last valid union of a union stack (parser transition keys). */
export interface UnionStackFieldValue {
  readonly type: "union_stack_field";
  readonly value: readonly [unionStack: string, member: string, field: string];
}

/** One cell of a register array. */
export interface RegisterValue {
  readonly type: "register";
  readonly value: readonly [registerArray: string, index: TypeValue];
}

/** Packet bits ahead of the parser's cursor, not consumed. */
export interface LookaheadValue {
  readonly type: "lookahead";
  readonly value: readonly [bitOffset: number, bitWidth: number];
}

/** An expression tree, or (as p4c sometimes nests them) another operand. */
export interface ExpressionValue {
  readonly type: "expression";
  readonly value: Expression | TypeValue;
}

/** The arguments of log_msg; p4c writes an empty vector as {}. */
export interface ParametersVectorValue {
  readonly type: "parameters_vector";
  readonly value: readonly TypeValue[] | { readonly [key: string]: never };
}

/** The operands of a parameters_vector. */
export function vectorElements(p: ParametersVectorValue): readonly TypeValue[] {
  const v = p.value;
  return isList(v) ? v : [];
}

/** Extract targets of parser ops: a header (by name or operand), the next element of a stack or union stack. */
export interface RegularTarget {
  readonly type: "regular";
  readonly value: string | TypeValue;
}

export interface StackTarget {
  readonly type: "stack";
  readonly value: string;
}

export interface UnionStackTarget {
  readonly type: "union_stack";
  readonly value: readonly [unionStack: string, member: string];
}

export type ExtractTarget = RegularTarget | StackTarget | UnionStackTarget;

/** Calculation input: the headers after the last input header, and the payload. */
export interface PayloadValue {
  readonly type: "payload";
}

/** A type/value object: an operand of a primitive, expression, parser op or key. */
export type TypeValue =
  | FieldValue
  | HexstrValue
  | BoolValue
  | StringValue
  | RuntimeDataValue
  | HeaderValue
  | NamedValue
  | StackFieldValue
  | UnionStackFieldValue
  | RegisterValue
  | LookaheadValue
  | ExpressionValue
  | ParametersVectorValue
  | ExtractTarget
  | PayloadValue;

/** Operators by the operands they take; the operator types below are derived from it. */
const OPERATORS = {
  "+": "additive",
  "-": "additive",
  "*": "binary",
  "/": "binary",
  "%": "binary",
  "<<": "binary",
  ">>": "binary",
  "&": "binary",
  "|": "binary",
  "^": "binary",
  "==": "binary",
  "!=": "binary",
  "<": "binary",
  ">": "binary",
  "<=": "binary",
  ">=": "binary",
  and: "binary",
  or: "binary",
  two_comp_mod: "binary",
  sat_cast: "binary",
  usat_cast: "binary",
  dereference_header_stack: "binary",
  dereference_stack: "binary",
  dereference_union_stack: "binary",
  "~": "unary",
  not: "unary",
  d2b: "unary",
  b2d: "unary",
  valid: "unary",
  valid_union: "unary",
  last_stack_index: "unary",
  size_stack: "unary",
  "?": "ternary",
  access_field: "offset",
  access_union_header: "offset",
} as const;

type OperatorOf<K> = { [Op in keyof typeof OPERATORS]: (typeof OPERATORS)[Op] extends K ? Op : never }[keyof typeof OPERATORS];

/** `+` and `-`; a null (or absent) left operand counts as 0. */
export interface AdditiveExpression {
  readonly op: OperatorOf<"additive">;
  readonly left?: TypeValue | null;
  readonly right: TypeValue;
}

export interface BinaryExpression {
  readonly op: OperatorOf<"binary">;
  readonly left: TypeValue;
  readonly right: TypeValue;
}

/** Operators of one operand, given as `right` (p4c sets `left` to null; it is not read). */
export interface UnaryExpression {
  readonly op: OperatorOf<"unary">;
  readonly right: TypeValue;
}

/** `cond ? left : right`. */
export interface ConditionalExpression {
  readonly op: "?";
  readonly cond: TypeValue;
  readonly left: TypeValue;
  readonly right: TypeValue;
}

/** The field (access_field) or union member (access_union_header) at index `right` of `left`. */
export interface OffsetExpression {
  readonly op: OperatorOf<"offset">;
  readonly left: TypeValue;
  readonly right: number;
}

/** The `value` of an operand of type "expression" when it holds an operator. */
export type Expression = AdditiveExpression | BinaryExpression | UnaryExpression | ConditionalExpression | OffsetExpression;

/** Checks an operand (deeply); `where` names the enclosing object for messages. */
export function readTypeValue(v: unknown, where: string): TypeValue {
  if (!isObject(v)) throw malformed(`${where}: bad operand ${JSON.stringify(v)}`);
  const value = v.value;
  const type = v.type;
  switch (type) {
    case "field":
      if (!isTuple(value, (x) => isString(x) || isObject(x), isString)) {
        throw malformed(`${where}: bad field reference ${JSON.stringify(value)}`);
      }
      if (!isString(value[0])) readTypeValue(value[0], where);
      break;
    case "hexstr":
      hexstr(value);
      break;
    case "bool":
      bool(value, `${where}: a bool operand`);
      break;
    case "string":
      str(value, `${where}: a string operand`);
      break;
    case "runtime_data":
    case "local":
      int(value, `${where}: a runtime data index`);
      break;
    case "header":
    case "regular":
      if (isObject(value)) readTypeValue(value, where);
      else str(value, `${where}: a ${type} operand`);
      break;
    case "header_stack":
    case "header_union":
    case "header_union_stack":
    case "calculation":
    case "register_array":
    case "counter_array":
    case "meter_array":
    case "extern":
    case "stack":
      str(value, `${where}: a ${type} name`);
      break;
    case "stack_field":
    case "union_stack":
      if (!isTuple(value, isString, isString)) throw malformed(`${where}: bad ${type} ${JSON.stringify(value)}`);
      break;
    case "union_stack_field":
      if (!isTuple(value, isString, isString, isString)) throw malformed(`${where}: bad union_stack_field`);
      break;
    case "register":
      if (!isTuple(value, isString, isObject)) throw malformed(`${where}: bad register operand ${JSON.stringify(value)}`);
      readTypeValue(value[1], where);
      break;
    case "lookahead":
      if (!isTuple(value, isInteger, isInteger)) throw malformed(`${where}: bad lookahead ${JSON.stringify(value)}`);
      break;
    case "expression":
      if (isObject(value) && "op" in value) readExpression(value, where);
      else readTypeValue(value, where);
      break;
    case "parameters_vector":
      if (isObject(value) && Object.keys(value).length === 0) break;
      for (const p of arr(value, `${where}: parameters_vector`)) readTypeValue(p, where);
      break;
    case "payload":
      break;
    default:
      // p4c writes some run-time header selections as bare expressions, without a type
      throw unsupported(`operand type '${String(type)}' in ${where}`);
  }
  return checked<TypeValue>(v);
}

function readExpression(e: JsonObject, where: string): Expression {
  const op = e.op;
  const kind = typeof op === "string" && Object.hasOwn(OPERATORS, op) ? OPERATORS[op as keyof typeof OPERATORS] : undefined;
  switch (kind) {
    case "additive":
      nullable(e.left, (x) => readTypeValue(x, where));
      readTypeValue(e.right, where);
      break;
    case "binary":
      readTypeValue(e.left, where);
      readTypeValue(e.right, where);
      break;
    case "unary":
      readTypeValue(e.right, where);
      break;
    case "ternary":
      readTypeValue(e.cond, where);
      readTypeValue(e.left, where);
      readTypeValue(e.right, where);
      break;
    case "offset":
      readTypeValue(e.left, where);
      if (!Number.isInteger(e.right)) throw malformed(`${where}: ${String(op)} offset ${String(e.right)} out of range`);
      break;
    case undefined:
      throw unsupported(`expression operator '${String(op)}' in ${where}`);
  }
  return checked<Expression>(e);
}

/** A header type's length_exp: an operand, or a bare expression tree. */
function readLengthExpression(v: unknown, where: string): TypeValue | Expression {
  if (isObject(v) && !v.type && "op" in v) return readExpression(v, where);
  return readTypeValue(v, where);
}

/** Checks a [header, field] pair. */
export function readFieldName(v: unknown, where: string): FieldName {
  if (!isTuple(v, isString, isString)) throw malformed(`${where}: bad field reference ${JSON.stringify(v)}`);
  return v as FieldName;
}

// -- primitives ------------------------------------------------------------------

/** A call of a primitive (or of an extern method) in an action or a parser state. */
export interface Primitive {
  readonly op: string;
  readonly parameters?: readonly TypeValue[];
}

export function readPrimitive(v: unknown, where: string): Primitive {
  const p = obj(v, `${where}: a primitive call`);
  str(p.op, `${where}: a primitive's op`);
  opt(p.parameters, (ps) => {
    for (const x of arr(ps, `${where}: primitive parameters`)) readTypeValue(x, where);
  });
  return checked<Primitive>(p);
}

// -- header types, instances, stacks and unions ------------------------------

/** A field of a header type: name, width in bits ("*": the varbit field), signed (p4c writes 0 for bool). */
export type FieldSpec = readonly [name: string, width: number | "*", signed?: boolean | number];

export interface HeaderType {
  readonly name: string;
  readonly fields: readonly FieldSpec[];
  /** Maximum header length in bytes; required with a varbit field. */
  readonly max_length?: number;
  /** Width in bits of the varbit field (P4_14 style; p4c passes it to extract_VL instead). */
  readonly length_exp?: TypeValue | Expression | null;
}

export function readHeaderType(v: unknown): HeaderType {
  const t = obj(v, "a header type");
  const name = str(t.name, "header type name");
  let varbit = false;
  for (const f of arr(t.fields, `fields of ${name}`)) {
    const badField = (): Error => malformed(`field of header type ${name}`);
    if (!isList(f) || f.length < 2 || f.length > 3 || !isString(f[0])) throw badField();
    const [fname, width, signed] = f;
    if (signed !== undefined && typeof signed !== "boolean" && typeof signed !== "number") throw badField();
    if (width === "*") varbit = true;
    else if (!isInteger(width) || width < 0) throw malformed(`width of ${name}.${fname}`);
  }
  const maxLength = t.max_length;
  if (varbit || maxLength !== undefined) {
    if (!isInteger(maxLength) || maxLength <= 0) {
      throw malformed(varbit ? `varbit header type ${name} without max_length` : `max_length of ${name} must be a positive integer`);
    }
  }
  nullable(t.length_exp, (x) => readLengthExpression(x, `header type ${name}`));
  return checked<HeaderType>(t);
}

export interface Header {
  readonly name: string;
  readonly id: number;
  readonly header_type: string;
  /** Metadata instances are always valid and are not deparsed. */
  readonly metadata?: boolean;
}

export function readHeader(v: unknown): Header {
  const h = obj(v, "a header");
  const name = str(h.name, "header name");
  str(h.header_type, `header type of ${name}`);
  int(h.id, `id of header ${name}`);
  opt(h.metadata, (x) => bool(x, `metadata of header ${name}`));
  return checked<Header>(h);
}

export interface HeaderStack {
  readonly name: string;
  readonly header_type: string;
  /** Ids of the element headers, index 0 first. */
  readonly header_ids: readonly number[];
}

export function readHeaderStack(v: unknown): HeaderStack {
  const s = obj(v, "a header stack");
  const name = str(s.name, "header stack name");
  str(s.header_type, `header type of stack ${name}`);
  ints(s.header_ids, "header_ids");
  return checked<HeaderStack>(s);
}

export interface HeaderUnionType {
  readonly name: string;
  /** Members as [member name, header type]. */
  readonly headers: readonly (readonly [member: string, headerType: string])[];
}

export function readHeaderUnionType(v: unknown): HeaderUnionType {
  const u = obj(v, "a header union type");
  const name = str(u.name, "union type name");
  for (const m of arr(u.headers, "union headers")) {
    if (!isTuple(m, isString, isString)) throw malformed(`union type ${name}: a member must be [name, header type]`);
  }
  return checked<HeaderUnionType>(u);
}

export interface HeaderUnion {
  readonly name: string;
  readonly id: number;
  readonly union_type: string;
  /** Ids of the member headers, in the order of the union type's members. */
  readonly header_ids: readonly number[];
}

export function readHeaderUnion(v: unknown): HeaderUnion {
  const u = obj(v, "a header union");
  const name = str(u.name, "header union name");
  str(u.union_type, `union type of ${name}`);
  ints(u.header_ids, "header_ids");
  int(u.id, `id of header union ${name}`);
  return checked<HeaderUnion>(u);
}

export interface HeaderUnionStack {
  readonly name: string;
  readonly union_type: string;
  /** Ids of the element unions, index 0 first. */
  readonly header_union_ids: readonly number[];
}

export function readHeaderUnionStack(v: unknown): HeaderUnionStack {
  const s = obj(v, "a header union stack");
  const name = str(s.name, "header union stack name");
  str(s.union_type, `union type of ${name}`);
  ints(s.header_union_ids, "header_union_ids");
  return checked<HeaderUnionStack>(s);
}

/** A name the target expects ("intrinsic_metadata.mcast_grp") and the field that holds it. */
export type FieldAlias = readonly [alias: string, field: FieldName];

export function readFieldAlias(v: unknown): FieldAlias {
  if (!isTuple(v, isString, (f) => isTuple(f, isString, isString))) throw malformed("field_aliases entry");
  return v as FieldAlias;
}

// -- errors, enums, field and learn lists ---------------------------------------

/** An error constant as [name, value]. */
export type ErrorSpec = readonly [name: string, value: number];

export function readError(v: unknown): ErrorSpec {
  if (!isTuple(v, isString, isInteger)) throw malformed("errors entry");
  return v as ErrorSpec;
}

export interface EnumSpec {
  readonly name: string;
  /** Constants as [name, value]. */
  readonly entries: readonly (readonly [name: string, value: number])[];
}

export function readEnum(v: unknown): EnumSpec {
  const e = obj(v, "an enum");
  const name = str(e.name, "enum name");
  for (const c of arr(e.entries, "enum entries")) {
    if (!isTuple(c, isString, isInteger)) throw malformed(`enum ${name}: an entry must be [name, value]`);
  }
  return checked<EnumSpec>(e);
}

/** A field of a field list (clone, resubmit, recirculate) or learn list (digest); the only element kind supported. */
export interface FieldElement {
  readonly type: "field";
  readonly value: FieldName;
}

/** Fields copied along with a cloned, resubmitted or recirculated packet. */
export interface FieldList {
  readonly id: number;
  readonly name: string;
  readonly elements?: readonly FieldElement[];
}

export function readFieldList(v: unknown): FieldList {
  const fl = obj(v, "a field list");
  const name = str(fl.name, "field list name");
  int(fl.id, `id of field list ${name}`);
  for (const e of arr(fl.elements ?? [], "field list elements")) {
    const type = isObject(e) ? e.type : undefined;
    if (type !== "field") throw unsupported(`field list element of type '${String(type)}' in ${name}`);
    readFieldName(obj(e, "a field list element").value, `field list ${name}`);
  }
  return checked<FieldList>(fl);
}

/** The fields of a digest. */
export interface LearnList {
  readonly id: number;
  readonly name: string;
  readonly elements?: readonly FieldElement[];
}

export function readLearnList(v: unknown): LearnList {
  const ll = obj(v, "a learn list");
  const name = str(ll.name, "learn list name");
  const where = `learn list ${name}`;
  int(ll.id, `id of ${where}`);
  for (const e of arr(ll.elements ?? [], `${where} elements`)) {
    const type = isObject(e) ? e.type : undefined;
    if (type !== "field") throw unsupported(`${where} element of type '${String(type)}'`);
    readFieldName(obj(e, "a learn list element").value, where);
  }
  return checked<LearnList>(ll);
}

// -- parsers and deparsers ----------------------------------------------------------

/**
 * A parser operation. extract_VL extracts a header with a varbit field, whose
 * width in bits is its second parameter; set takes a destination field and a
 * value; verify a condition and an error code; shift skips a constant number
 * of bytes, advance a computed number of bits; primitive calls a primitive.
 */
export type ParserOp =
  | { readonly op: "extract"; readonly parameters: readonly [ExtractTarget] }
  | { readonly op: "extract_VL"; readonly parameters: readonly [ExtractTarget, TypeValue] }
  | { readonly op: "set" | "verify"; readonly parameters: readonly [TypeValue, TypeValue] }
  | { readonly op: "shift"; readonly parameters: readonly [HexstrValue] }
  | { readonly op: "advance"; readonly parameters: readonly [TypeValue] }
  | { readonly op: "primitive"; readonly parameters: readonly [Primitive] };

function readExtractTarget(v: unknown, where: string): ExtractTarget {
  const type = isObject(v) ? v.type : undefined;
  if (type !== "regular" && type !== "stack" && type !== "union_stack") {
    throw unsupported(`extract target type '${String(type)}' in ${where}`);
  }
  return readTypeValue(v, where) as ExtractTarget;
}

export function readParserOp(v: unknown, where: string): ParserOp {
  const o = obj(v, `${where}: a parser op`);
  const op = o.op;
  const ps = arr(o.parameters ?? [], "parser op parameters");
  const count = (n: number): void => {
    if (ps.length !== n) throw malformed(`${where}: ${String(op)} expects ${n} parameter${n === 1 ? "" : "s"}`);
  };
  switch (op) {
    case "extract":
    case "extract_VL":
      count(op === "extract" ? 1 : 2);
      readExtractTarget(ps[0], where);
      if (op === "extract_VL") readTypeValue(ps[1], where);
      break;
    case "set":
    case "verify":
      count(2);
      for (const p of ps) readTypeValue(p, where);
      break;
    case "shift":
      count(1);
      if (readTypeValue(ps[0], where).type !== "hexstr") throw malformed(`${where}: shift expects a hexstr`);
      break;
    case "advance":
      count(1);
      readTypeValue(ps[0], where);
      break;
    case "primitive":
      count(1);
      readPrimitive(ps[0], where);
      break;
    default:
      throw unsupported(`parser op '${String(op)}' in ${where}`);
  }
  return checked<ParserOp>(o);
}

/** A transition: taken by default, or when the key matches a value (under a mask) or a parse value set. */
export type Transition =
  | { readonly type: "default"; readonly next_state?: string | null }
  | { readonly type: "hexstr"; readonly value: Hexstr; readonly mask?: Hexstr | null; readonly next_state?: string | null }
  | { readonly type: "parse_vset"; readonly value: string; readonly mask?: Hexstr | null; readonly next_state?: string | null };

export function readTransition(v: unknown, where: string): Transition {
  const t = obj(v, `${where}: a transition`);
  const next = t.next_state ?? null;
  const nextState = next === null ? null : str(next, `${where}: next_state`);
  // older documents mark the default transition by its value alone
  if (t.type !== "default" && t.value === "default") return { type: "default", next_state: nextState };
  switch (t.type) {
    case "default":
      break;
    case "hexstr":
    case "parse_vset":
      if (t.type === "hexstr") hexstr(t.value);
      else str(t.value, `${where}: a parse_vset name`);
      nullable(t.mask, hexstr);
      break;
    default:
      throw unsupported(`transition type '${String(t.type)}' in ${where}`);
  }
  return checked<Transition>(t);
}

export interface ParseState {
  readonly name: string;
  readonly parser_ops: readonly ParserOp[];
  /** Concatenated, each part padded to whole bytes, to match the transitions' values. */
  readonly transition_key: readonly TypeValue[];
  /** Tried in order. */
  readonly transitions: readonly Transition[];
}

/** Returns a copy (absent lists made empty, old-style default transitions rewritten). */
export function readParseState(v: unknown): ParseState {
  const s = obj(v, "a parse state");
  const name = str(s.name, "parse state name");
  const where = `parser state ${name}`;
  return {
    name,
    parser_ops: arr(s.parser_ops ?? [], "parser_ops").map((op) => readParserOp(op, where)),
    transition_key: arr(s.transition_key ?? [], "transition_key").map((k) => readTypeValue(k, where)),
    transitions: arr(s.transitions ?? [], "transitions").map((t) => readTransition(t, where)),
  };
}

export interface Parser {
  readonly name: string;
  /** The start state; null: the parser extracts nothing. */
  readonly init_state: string | null;
  readonly parse_states: readonly ParseState[];
}

/** Returns a copy, with copies of the states. */
export function readParser(v: unknown): Parser {
  const p = obj(v, "a parser");
  const name = str(p.name, "parser name");
  const init = p.init_state ?? null;
  const parse_states = arr(p.parse_states, "parse_states").map(readParseState);
  return { name, init_state: init === null ? null : str(init, `init_state of parser ${name}`), parse_states };
}

export interface Deparser {
  readonly name: string;
  /** Header instances emitted (when valid), in this order. */
  readonly order: readonly string[];
  /** Deparser primitives are not supported: the reader accepts none. */
  readonly primitives?: readonly [];
}

export function readDeparser(v: unknown): Deparser {
  const d = obj(v, "a deparser");
  str(d.name, "deparser name");
  strings(d.order, "deparser order");
  opt(d.primitives, (ps) => {
    if (arr(ps, "deparser primitives").length > 0) throw unsupported("deparser primitives");
  });
  return checked<Deparser>(d);
}

// -- externs: meters, counters, registers, value sets ------------------------------

/** Direct meters and counters (attached to a table's entries) need no size. */
type Sized = { readonly is_direct: true; readonly size?: number } | { readonly is_direct?: false; readonly size: number };

export type MeterArray = Sized & {
  readonly name: string;
  readonly type: "bytes" | "packets";
  /** Two-rate three-color meters are the only kind supported. */
  readonly rate_count?: 2;
  /** Direct meters: the field that receives the color. */
  readonly result_target?: FieldName | null;
};

/** Checks is_direct, and size unless the array is direct. */
function readSized(v: JsonObject, what: string): void {
  opt(v.is_direct, (x) => bool(x, `is_direct of ${what}`));
  if (v.is_direct === true) opt(v.size, (x) => int(x, `size of ${what}`));
  else int(v.size, `size of ${what}`);
}

export function readMeterArray(v: unknown): MeterArray {
  const m = obj(v, "a meter array");
  if (m.type !== "bytes" && m.type !== "packets") throw unsupported(`meter type '${String(m.type)}' of ${String(m.name)}`);
  if ((m.rate_count ?? 2) !== 2) throw unsupported(`meter ${String(m.name)} with rate_count ${String(m.rate_count)}`);
  const name = str(m.name, "meter name");
  readSized(m, `meter ${name}`);
  nullable(m.result_target, (x) => readFieldName(x, `direct meter ${name}`));
  return checked<MeterArray>(m);
}

export type CounterArray = Sized & { readonly name: string };

export function readCounterArray(v: unknown): CounterArray {
  const c = obj(v, "a counter array");
  readSized(c, `counter ${str(c.name, "counter name")}`);
  return checked<CounterArray>(c);
}

export interface RegisterArray {
  readonly name: string;
  readonly size: number;
  readonly bitwidth: number;
}

export function readRegisterArray(v: unknown): RegisterArray {
  const r = obj(v, "a register array");
  const name = str(r.name, "register name");
  int(r.size, `size of register ${name}`);
  int(r.bitwidth, `bitwidth of register ${name}`);
  return checked<RegisterArray>(r);
}

export interface ParseVset {
  readonly name: string;
  /** Width of the values, without the padding of the transition key. */
  readonly compressed_bitwidth: number;
  readonly max_size?: number;
}

export function readParseVset(v: unknown): ParseVset {
  const s = obj(v, "a parse_vset");
  const name = str(s.name, "parse_vset name");
  int(s.compressed_bitwidth, `compressed_bitwidth of ${name}`);
  opt(s.max_size, (x) => int(x, `max_size of ${name}`));
  return checked<ParseVset>(s);
}

export interface ExternInstance {
  readonly name: string;
  /** The extern type, which the target must provide. */
  readonly type: string;
}

export function readExternInstance(v: unknown): ExternInstance {
  const x = obj(v, "an extern instance");
  str(x.name, "extern instance name");
  str(x.type, `type of extern instance ${String(x.name)}`);
  return checked<ExternInstance>(x);
}

// -- calculations and checksums ------------------------------------------------

/**
 * An input of a calculation (hash or checksum); inputs are packed bit by bit
 * in order. A field, a constant of `bitwidth` bits, a whole header (skipped
 * when invalid), the payload; or, beyond the format document, an expression
 * with a bitwidth like a constant.
 */
export type CalculationInput =
  | { readonly type: "field"; readonly value: FieldName }
  | { readonly type: "hexstr"; readonly value: Hexstr; readonly bitwidth: number }
  | { readonly type: "header"; readonly value: string }
  | PayloadValue
  | (ExpressionValue & { readonly bitwidth: number });

export function readCalculationInput(v: unknown, where: string): CalculationInput {
  const inp = obj(v, `${where}: a calculation input`);
  const positive = (x: unknown): boolean => isInteger(x) && x > 0;
  switch (inp.type) {
    case "field":
      readFieldName(inp.value, where);
      break;
    case "hexstr":
      if (!positive(inp.bitwidth)) throw malformed(`${where}: hexstr input without bitwidth`);
      hexstr(inp.value);
      break;
    case "header":
      str(inp.value, `${where}: a header input`);
      break;
    case "payload":
      break;
    case "expression":
      readTypeValue(inp, where);
      if (!positive(inp.bitwidth)) throw unsupported(`${where}: expression input without bitwidth`);
      break;
    default:
      throw unsupported(`calculation input of type '${String(inp.type)}' in ${where}`);
  }
  return checked<CalculationInput>(inp);
}

/** A named calculation. */
export interface Calculation {
  readonly name: string;
  /** Hash algorithm (crc16, csum16, ...). */
  readonly algo: string;
  readonly input: readonly CalculationInput[];
}

export function readCalculation(v: unknown): Calculation {
  const c = obj(v, "a calculation");
  const name = str(c.name, "calculation name");
  str(c.algo, `algo of calculation ${name}`);
  for (const x of arr(c.input, `inputs of ${name}`)) readCalculationInput(x, `calculation ${name}`);
  return checked<Calculation>(c);
}

/** A checksum verified after parsing and updated before deparsing. */
export interface Checksum {
  readonly name: string;
  /** Only "generic" checksums are supported. */
  readonly type?: "generic";
  readonly target: FieldName;
  readonly calculation: string;
  /** Verified and updated only when this holds; null: always. */
  readonly if_cond?: TypeValue | null;
  readonly verify?: boolean;
  readonly update?: boolean;
}

export function readChecksum(v: unknown): Checksum {
  const c = obj(v, "a checksum");
  const where = `checksum ${String(c.name)}`;
  if (c.type !== undefined && c.type !== "generic") throw unsupported(`${where} of type '${String(c.type)}'`);
  str(c.name, "checksum name");
  readFieldName(c.target, where);
  str(c.calculation, `${where}: calculation`);
  nullable(c.if_cond, (x) => readTypeValue(x, where));
  opt(c.verify, (x) => bool(x, `${where}: verify`));
  opt(c.update, (x) => bool(x, `${where}: update`));
  return checked<Checksum>(c);
}

// -- actions -----------------------------------------------------------------------

/** A parameter of an action, supplied by table entries. */
export interface RuntimeParameter {
  readonly name: string;
  readonly bitwidth: number;
}

export interface Action {
  readonly name: string;
  readonly id: number;
  readonly runtime_data?: readonly RuntimeParameter[];
  readonly primitives?: readonly Primitive[];
}

export function readAction(v: unknown): Action {
  const a = obj(v, "an action");
  const name = str(a.name, "action name");
  for (const p of arr(a.runtime_data ?? [], `runtime_data of ${name}`)) {
    const rd = obj(p, `a parameter of ${name}`);
    str(rd.name, `a parameter name of ${name}`);
    int(rd.bitwidth, `a parameter width of ${name}`);
  }
  int(a.id, `id of action ${name}`);
  for (const p of arr(a.primitives ?? [], `primitives of ${name}`)) readPrimitive(p, `action ${name}`);
  return checked<Action>(a);
}

// -- pipelines: tables, action profiles, conditionals, action calls -----------------

export type MatchType = "exact" | "lpm" | "ternary" | "range" | "optional" | "valid";

const MATCH_TYPES: readonly string[] = ["exact", "lpm", "ternary", "range", "optional", "valid"] satisfies MatchType[];

/** A key element: a header's validity, or a field (named, or an expression p4c emits for stack[i].f). */
export type TableKey =
  | { readonly match_type: "valid"; readonly target: string; readonly name?: string }
  | {
      readonly match_type: Exclude<MatchType, "valid">;
      readonly target: FieldName | ExpressionValue;
      /** Constant mask applied to the field before matching. */
      readonly mask?: Hexstr | null;
      /** Name shown to the control plane; by default the target's. */
      readonly name?: string;
    };

function readTableKey(v: unknown, table: string): TableKey {
  const k = obj(v, `key of ${table}`);
  const mt = k.match_type;
  if (typeof mt !== "string" || !MATCH_TYPES.includes(mt)) throw unsupported(`match type '${String(mt)}' in table ${table}`);
  const target = k.target;
  if (mt === "valid") str(target, `key target of ${table}`);
  else if (isObject(target) && target.type === "expression") readTypeValue(target, `table ${table}`);
  else if (!isList(target)) throw unsupported(`key target ${JSON.stringify(target)} in table ${table}`);
  else readFieldName(target, `table ${table}`);
  if (mt !== "valid") nullable(k.mask, hexstr);
  opt(k.name, (x) => str(x, `key name in ${table}`));
  return checked<TableKey>(k);
}

/** Values of one key element of a const entry, by match type. */
export type EntryMatch =
  | { readonly match_type: "valid"; readonly key: boolean }
  | { readonly match_type: "exact" | "optional"; readonly key: Hexstr }
  | { readonly match_type: "lpm"; readonly key: Hexstr; readonly prefix_length: number }
  | { readonly match_type: "ternary"; readonly key: Hexstr; readonly mask: Hexstr }
  | { readonly match_type: "range"; readonly start: Hexstr; readonly end: Hexstr };

function readEntryMatch(v: unknown, table: string): EntryMatch {
  const mk = obj(v, `entry of ${table}`);
  switch (mk.match_type) {
    case "valid":
      bool(mk.key, `a valid key in a const entry of ${table}`);
      break;
    case "exact":
    case "optional":
      hexstr(mk.key);
      break;
    case "lpm":
      hexstr(mk.key);
      int(mk.prefix_length, `a prefix length in a const entry of ${table}`);
      break;
    case "ternary":
      hexstr(mk.key);
      hexstr(mk.mask);
      break;
    case "range":
      hexstr(mk.start);
      hexstr(mk.end);
      break;
    default:
      throw unsupported(`match type '${String(mk.match_type)}' in const entry of ${table}`);
  }
  return checked<EntryMatch>(mk);
}

/** An action with its arguments, one hexstr per parameter. */
export interface ActionEntry {
  readonly action_id: number;
  readonly action_data?: readonly Hexstr[];
}

/** A const entry (a table with entries cannot be changed by the control plane). */
export interface TableEntry {
  readonly match_key: readonly EntryMatch[];
  readonly action_entry: ActionEntry;
  /** Smaller numbers win. */
  readonly priority?: number;
}

/** The action a table runs on a miss, set when the program is loaded. */
export interface DefaultEntry extends ActionEntry {
  /** The control plane cannot change the action. */
  readonly action_const?: boolean;
  /** The control plane cannot change the action or its arguments. */
  readonly action_entry_const?: boolean;
}

function readActionData(v: unknown): void {
  for (const x of arr(v ?? [], "action_data")) hexstr(x);
}

function readTableEntry(v: unknown, table: string): TableEntry {
  const e = obj(v, `a const entry of ${table}`);
  for (const mk of arr(e.match_key, `entry of ${table}`)) readEntryMatch(mk, table);
  const ae = e.action_entry;
  if (!isObject(ae) || !Number.isInteger(ae.action_id)) throw malformed(`table ${table}: const entry with unknown action`);
  readActionData(ae.action_data);
  opt(e.priority, (x) => int(x, `a priority in a const entry of ${table}`));
  return checked<TableEntry>(e);
}

const TABLE_TYPES: readonly string[] = ["simple", "indirect", "indirect_ws"] satisfies Table["type"][];

export interface Table {
  readonly name: string;
  /** "simple" when absent; "indirect": entries refer to action profile members; "indirect_ws": to members or groups. */
  readonly type?: "simple" | "indirect" | "indirect_ws";
  readonly key?: readonly TableKey[];
  /** Action names, and (p4c) their ids in the same order. */
  readonly actions?: readonly string[];
  readonly action_ids?: readonly number[];
  readonly action_profile?: string;
  readonly max_size?: number;
  readonly with_counters?: boolean;
  readonly support_timeout?: boolean;
  /** Name of the direct meter array. */
  readonly direct_meters?: string | null;
  readonly default_entry?: DefaultEntry | null;
  readonly entries?: readonly TableEntry[];
  /** Next node by action name, or by "__HIT__"/"__MISS__"; null ends the pipeline. */
  readonly next_tables?: { readonly [actionOrHitMiss: string]: string | null } | null;
  /** Next node after the default action when next_tables does not say. */
  readonly base_default_next?: string | null;
}

export function readTable(v: unknown): Table {
  const t = obj(v, "a table");
  const name = str(t.name, "table name");
  const what = (attr: string): string => `${attr} of table ${name}`;
  for (const k of arr(t.key ?? [], `key of ${name}`)) readTableKey(k, name);
  strings(t.actions ?? [], `actions of ${name}`);
  opt(t.action_ids, (x) => ints(x, what("action_ids")));
  const ttype = t.type ?? "simple";
  if (typeof ttype !== "string" || !TABLE_TYPES.includes(ttype)) throw unsupported(`table type '${String(ttype)}' of ${name}`);
  opt(t.action_profile, (x) => str(x, what("action_profile")));
  opt(t.max_size, (x) => int(x, what("max_size")));
  opt(t.with_counters, (x) => bool(x, what("with_counters")));
  opt(t.support_timeout, (x) => bool(x, what("support_timeout")));
  nullable(t.direct_meters, (x) => str(x, what("direct_meters")));
  nullable(t.default_entry, (x) => {
    const de = obj(x, what("default_entry"));
    int(de.action_id, `default action id of table ${name}`);
    readActionData(de.action_data);
    opt(de.action_const, (y) => bool(y, what("action_const")));
    opt(de.action_entry_const, (y) => bool(y, what("action_entry_const")));
  });
  opt(t.entries, (x) => {
    for (const e of arr(x, what("entries"))) readTableEntry(e, name);
  });
  nullable(t.next_tables, (x) => {
    for (const n of Object.values(obj(x, what("next_tables")))) nullable(n, (y) => str(y, what("a next table")));
  });
  nullable(t.base_default_next, (x) => str(x, what("base_default_next")));
  return checked<Table>(t);
}

/** Members (action with arguments) that indirect tables' entries refer to. */
export interface ActionProfile {
  readonly name: string;
  readonly max_size?: number;
  /** Present when the profile has groups: the hash that picks a group's member. */
  readonly selector?: { readonly algo: string; readonly input: readonly CalculationInput[] } | null;
}

function readActionProfile(v: unknown): ActionProfile {
  const ap = obj(v, "an action profile");
  const name = str(ap.name, "action profile name");
  opt(ap.max_size, (x) => int(x, `max_size of action profile ${name}`));
  nullable(ap.selector, (x) => {
    const sel = obj(x, `selector of ${name}`);
    str(sel.algo, `algo of the selector of ${name}`);
    for (const i of arr(sel.input, "selector input")) readCalculationInput(i, `selector of ${name}`);
  });
  return checked<ActionProfile>(ap);
}

/** A branch of the control flow. */
export interface Conditional {
  readonly name: string;
  readonly expression: TypeValue;
  readonly true_next?: string | null;
  readonly false_next?: string | null;
}

/** A call of an action without parameters outside any table (p4c emits tables instead). */
export interface ActionCall {
  readonly name: string;
  readonly action_id: number;
  readonly next_node?: string | null;
}

/** A control (ingress, egress): a graph of tables, conditionals and action calls. */
export interface Pipeline {
  readonly name: string;
  /** First node; null: the control does nothing. */
  readonly init_table?: string | null;
  readonly tables?: readonly Table[];
  readonly action_profiles?: readonly ActionProfile[];
  readonly conditionals?: readonly Conditional[];
  readonly action_calls?: readonly ActionCall[];
}

export function readPipeline(v: unknown): Pipeline {
  const p = obj(v, "a pipeline");
  const pname = str(p.name, "pipeline name");
  const node = (n: unknown): JsonObject => {
    if (!isObject(n) || typeof n.name !== "string") throw malformed("node name must be a string");
    return n;
  };
  const tables = arr(p.tables ?? [], `tables of ${pname}`);
  const conds = arr(p.conditionals ?? [], `conditionals of ${pname}`);
  const calls = arr(p.action_calls ?? [], `action_calls of ${pname}`);
  tables.forEach(node);
  conds.forEach(node);
  calls.forEach(node);
  const next = (n: JsonObject, attr: string): void => nullable(n[attr], (x) => str(x, `${attr} of ${String(n.name)}`));
  nullable(p.init_table, (x) => str(x, `init_table of ${pname}`));
  for (const ap of arr(p.action_profiles ?? [], `action_profiles of ${pname}`)) readActionProfile(ap);
  for (const t of tables) readTable(t);
  for (const c of conds.map(node)) {
    readTypeValue(c.expression, `conditional ${String(c.name)}`);
    next(c, "true_next");
    next(c, "false_next");
  }
  for (const c of calls.map(node)) {
    int(c.action_id, `action_id of ${String(c.name)}`);
    next(c, "next_node");
  }
  return checked<Pipeline>(p);
}

// -- the document ------------------------------------------------------------------

/** A whole BMv2 JSON document, as the engine reads it. */
export interface Bmv2Json {
  /** Format version as [major, minor]; the engine needs major 2. */
  readonly __meta__: { readonly version: readonly [major: number, minor: number] };
  readonly program?: string;
  readonly header_types: readonly HeaderType[];
  readonly headers: readonly Header[];
  readonly header_stacks?: readonly HeaderStack[];
  readonly header_union_types?: readonly HeaderUnionType[];
  readonly header_unions?: readonly HeaderUnion[];
  readonly header_union_stacks?: readonly HeaderUnionStack[];
  readonly field_lists?: readonly FieldList[];
  readonly errors?: readonly ErrorSpec[];
  readonly enums?: readonly EnumSpec[];
  readonly parsers?: readonly Parser[];
  readonly parse_vsets?: readonly ParseVset[];
  readonly deparsers?: readonly Deparser[];
  readonly meter_arrays?: readonly MeterArray[];
  readonly counter_arrays?: readonly CounterArray[];
  readonly register_arrays?: readonly RegisterArray[];
  readonly calculations?: readonly Calculation[];
  readonly learn_lists?: readonly LearnList[];
  readonly actions?: readonly Action[];
  readonly pipelines?: readonly Pipeline[];
  readonly checksums?: readonly Checksum[];
  /** Not read (BMv2 uses it to widen arithmetic on some fields). */
  readonly force_arith?: readonly unknown[];
  /** The engine supports none. */
  readonly extern_instances?: readonly ExternInstance[];
  readonly field_aliases?: readonly FieldAlias[];
}

/** Every top-level attribute of the format; any other one is rejected. */
const SECTIONS = {
  __meta__: true,
  program: true,
  header_types: true,
  headers: true,
  header_stacks: true,
  header_union_types: true,
  header_unions: true,
  header_union_stacks: true,
  field_lists: true,
  errors: true,
  enums: true,
  parsers: true,
  parse_vsets: true,
  deparsers: true,
  meter_arrays: true,
  counter_arrays: true,
  register_arrays: true,
  calculations: true,
  learn_lists: true,
  actions: true,
  pipelines: true,
  checksums: true,
  force_arith: true,
  extern_instances: true,
  field_aliases: true,
} as const satisfies Record<keyof Bmv2Json, true>;

/** A document whose top level has been checked; each section is read, element by element, where it is used. */
export type Bmv2Document = { readonly [K in keyof Bmv2Json]?: unknown };

/** Checks the top level: a JSON object of known sections, in format version 2. */
export function readDocument(json: unknown): Bmv2Document {
  if (!isObject(json)) throw malformed("the document is not a JSON object");
  for (const k of Object.keys(json)) if (!Object.hasOwn(SECTIONS, k)) throw unsupported(`top-level JSON attribute '${k}'`);
  const meta = json.__meta__;
  const ver = isObject(meta) ? meta.version : undefined;
  if (!isList(ver) || ver[0] !== 2) throw unsupported(`BMv2 JSON version ${JSON.stringify(ver)} (need 2.x)`);
  return json;
}
