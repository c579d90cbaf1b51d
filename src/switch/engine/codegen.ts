/**
 * The code generator's shared state. The whole program (parsers, actions,
 * conditionals, tables' key builders, deparser) is emitted as the body of a
 * single `new Function`, so that V8 sees plain monomorphic code over a few
 * closed-over typed arrays. Runtime objects the code calls into (tables,
 * registers, meters, helpers) are passed in and bound to local constants.
 */
export class Gen {
  private readonly refs: unknown[] = [];
  private readonly refIndex = new Map<unknown, string>();
  private readonly decls: string[] = [];
  private counter = 0;

  /** Binds a runtime object to a local name in the generated code. */
  ref(obj: unknown, hint = "r"): string {
    const got = this.refIndex.get(obj);
    if (got) return got;
    const name = `${hint.replace(/[^A-Za-z0-9_]/g, "_")}$${this.refs.length}`;
    this.refs.push(obj);
    this.refIndex.set(obj, name);
    this.decls.push(`const ${name} = R[${this.refs.length - 1}];`);
    return name;
  }

  /** A fresh identifier for temporaries. */
  tmp(prefix = "t"): string {
    return `${prefix}${this.counter++}`;
  }

  /** Adds a top-level declaration (function or const). */
  decl(code: string): void {
    this.decls.push(code);
  }

  /** Compiles everything; `ret` is the object expression to return. */
  build<T>(env: Record<string, unknown>, ret: string): T {
    const names = Object.keys(env);
    const body = `"use strict";\n${this.decls.join("\n")}\nreturn ${ret};`;
    let fn: (...args: unknown[]) => T;
    try {
      fn = new Function("R", ...names, body) as (...args: unknown[]) => T;
    } catch (e) {
      throw new Error(`internal code generation error: ${(e as Error).message}\n${body}`);
    }
    return fn(this.refs, ...names.map((n) => env[n]));
  }

  source(): string {
    return this.decls.join("\n");
  }
}
