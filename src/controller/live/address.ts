/**
 * The live view's listen address: `host:port` (`127.0.0.1:8080`,
 * `[::1]:8080`, `localhost:0`, or `:8080` for 127.0.0.1). Loopback
 * addresses only, unless the caller allows others explicitly: the view
 * shows the whole network to whoever can reach it.
 */
import { isIP } from "node:net";

export interface HttpAddress {
  readonly host: string;
  readonly port: number;
  readonly loopback: boolean;
}

export class HttpAddressError extends Error {
  override readonly name = "HttpAddressError";
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  if (isIP(h) === 6) return h === "::1" || /^::ffff:127\./.test(h);
  return false;
}

export function parseHttpAddress(spec: string, allowRemote = false): HttpAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(spec.trim());
  if (!m) throw new HttpAddressError(`"${spec}" is not an HTTP listen address: use host:port, e.g. 127.0.0.1:8080`);
  const host = m[1] ?? (m[2] || "127.0.0.1");
  const port = Number(m[3]);
  if (port > 65535) throw new HttpAddressError(`"${spec}": port ${port} is past 65535`);
  if (m[1] !== undefined && isIP(host) !== 6) throw new HttpAddressError(`"${spec}": [${host}] is not an IPv6 address`);
  const loopback = isLoopbackHost(host);
  if (!loopback && !allowRemote) {
    throw new HttpAddressError(
      `"${spec}" is not a loopback address: the live view shows the whole network to whoever reaches it; ` +
        "add --http-allow-remote to listen there",
    );
  }
  return { host, port, loopback };
}

/** "http://127.0.0.1:8080/" for a bound address. */
export function httpUrl(host: string, port: number): string {
  const h = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "[::1]" : isIP(host) === 6 ? `[${host}]` : host;
  return `http://${h}:${port}/`;
}
