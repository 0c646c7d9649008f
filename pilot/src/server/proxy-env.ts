/**
 * Which site proxy a request takes, from the environment a batch system hands
 * the pilot: `https_proxy`/`HTTPS_PROXY`, `http_proxy`/`HTTP_PROXY`, then
 * `all_proxy`/`ALL_PROXY`, minus the `no_proxy`/`NO_PROXY` list (hosts,
 * domains, `host:port`, IP addresses and CIDR blocks; `*` for everything).
 * Lower case wins over upper case, as in curl and wget. Pure: facts in,
 * verdict out; the CONNECT tunnel itself is https-proxy-agent's.
 */
import { BlockList, isIP } from 'node:net';

/** The proxy a URL goes through, or why it goes direct. */
export type ProxyVerdict = { route: 'proxy'; proxy: URL; variable: string } | { route: 'direct'; reason: string };

function firstSet(env: NodeJS.ProcessEnv, names: readonly string[]): { name: string; value: string } | null {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return { name, value };
  }
  return null;
}

const defaultPort = (protocol: string): number => (protocol === 'https:' ? 443 : 80);

/** A host name or address without IPv6 brackets, lower case, no trailing dot. */
function bareHost(host: string): string {
  return host
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
}

/** One `NO_PROXY` entry split into host part and optional port. */
function splitEntry(entry: string): { host: string; port: number | null } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) return { host: bracketed[1]!.toLowerCase(), port: bracketed[2] ? Number(bracketed[2]) : null };
  // A bare IPv6 address (with or without /prefix) has colons but no port.
  if ((entry.match(/:/g) ?? []).length > 1) return { host: entry.toLowerCase(), port: null };
  const m = /^(.*?)(?::(\d+))?$/.exec(entry)!;
  return { host: m[1]!.toLowerCase(), port: m[2] ? Number(m[2]) : null };
}

function cidrContains(cidr: string, address: string): boolean {
  const [net, bits] = cidr.split('/');
  const family = isIP(net ?? '');
  const prefix = Number(bits);
  if (!family || family !== isIP(address) || !Number.isInteger(prefix)) return false;
  const list = new BlockList();
  try {
    list.addSubnet(net!, prefix, family === 6 ? 'ipv6' : 'ipv4');
  } catch {
    return false;
  }
  return list.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/** The `NO_PROXY` entry that exempts `host:port`, or null. */
export function noProxyMatch(noProxy: string, host: string, port: number): string | null {
  const target = bareHost(host);
  for (const raw of noProxy.split(/[\s,]+/)) {
    const entry = raw.trim();
    if (!entry) continue;
    if (entry === '*') return entry;
    const { host: h, port: p } = splitEntry(entry);
    if (p !== null && p !== port) continue;
    if (h.includes('/')) {
      if (cidrContains(h, target)) return entry;
      continue;
    }
    const name = bareHost(h).replace(/^\*?\./, '');
    if (!name) continue;
    if (isIP(target)) {
      if (isIP(name) && name === target) return entry;
      continue;
    }
    // `example.org`, `.example.org` and `*.example.org` all cover the domain and its hosts.
    if (target === name || target.endsWith(`.${name}`)) return entry;
  }
  return null;
}

/** The proxy for `target`, as the environment says (curl's rules). */
export function proxyFor(target: URL, env: NodeJS.ProcessEnv): ProxyVerdict {
  const scheme = target.protocol.replace(/:$/, '');
  const variables = scheme === 'https' ? ['https_proxy', 'HTTPS_PROXY'] : scheme === 'http' ? ['http_proxy', 'HTTP_PROXY'] : [];
  const set = firstSet(env, [...variables, 'all_proxy', 'ALL_PROXY']);
  if (!set) return { route: 'direct', reason: `no ${scheme}_proxy set` };
  const noProxy = firstSet(env, ['no_proxy', 'NO_PROXY']);
  const port = target.port ? Number(target.port) : defaultPort(target.protocol);
  const match = noProxy ? noProxyMatch(noProxy.value, target.hostname, port) : null;
  if (match) return { route: 'direct', reason: `${noProxy!.name} has ${match}` };
  const value = /^[a-z][a-z0-9+.-]*:\/\//i.test(set.value) ? set.value : `http://${set.value}`;
  let proxy: URL;
  try {
    proxy = new URL(value);
  } catch {
    throw new Error(`${set.name} is not a URL: ${set.value}`);
  }
  if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:')
    throw new Error(`${set.name}: only http:// and https:// proxies are supported, got ${proxy.protocol}//`);
  return { route: 'proxy', proxy, variable: set.name };
}

/** A proxy URL for logs and tables: user and password left out. */
export function redactProxy(proxy: URL): string {
  return `${proxy.protocol}//${proxy.host}`;
}
