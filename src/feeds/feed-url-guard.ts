import { lookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import type { Dispatcher } from 'undici';

/** Addresses a user-added feed must never reach: loopback, private, link-local, CGNAT, multicast, reserved. */
const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) BLOCKED.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96], ['2001:db8::', 32]] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv6');
}

/** The error code a pinned connection fails with when its host resolves to a blocked address. */
export const BLOCKED_ADDRESS_CODE = 'EINKWIRE_BLOCKED_ADDRESS';

export function isBlockedAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return BLOCKED.check(mapped[1]!, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return BLOCKED.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export type HostResolver = (hostname: string) => Promise<string[]>;

const systemResolver: HostResolver = async (hostname) => (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

/** A refusal for a hostname before any lookup: names that are local by definition. */
function localName(host: string): string | null {
  if (/^localhost$/i.test(host) || host.endsWith('.localhost') || host.endsWith('.internal') || host.endsWith('.local')) {
    return `${host} is a local address; only public feeds can be added`;
  }
  return null;
}

export interface PublicAddressGuard {
  /** Refuses (with a reason) a URL whose host is, or resolves to, a private address; null when it may be fetched. */
  checkUrl(url: URL): Promise<string | null>;
  /**
   * An HTTP dispatcher whose connections resolve names through the same check, so the address that passed
   * is the one connected to: a DNS answer that changes between the check and the connection (rebinding)
   * cannot reach a private network. Pass it as `dispatcher` with every untrusted fetch, on every hop.
   * Made on first use: undici costs ~18 MB of memory, which a bot without user-added feeds never pays.
   */
  dispatcher(): Promise<Dispatcher>;
}

/**
 * The guard for feeds that users add: refuses hosts that are, or resolve to, loopback, private, link-local,
 * CGNAT, multicast, reserved or cloud-metadata addresses (IPv4, IPv6 and IPv4-mapped forms).
 */
export function createPublicAddressGuard(resolve: HostResolver = systemResolver): PublicAddressGuard {
  const checkUrl = async (url: URL): Promise<string | null> => {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const local = localName(host);
    if (local) return local;
    let addresses: string[];
    try {
      addresses = isIP(host) ? [host] : await resolve(host);
    } catch {
      return `${host} does not resolve`;
    }
    if (addresses.length === 0 || addresses.some(isBlockedAddress)) {
      return `${host} points to a private or reserved network address; only public feeds can be added`;
    }
    return null;
  };
  type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
  const pinnedLookup = (hostname: string, options: { all?: boolean; family?: number } | number, callback: LookupCallback) => {
    const refuse = (reason: string) => callback(Object.assign(new Error(reason), { code: BLOCKED_ADDRESS_CODE }), '');
    const local = localName(hostname);
    if (local) return refuse(local);
    resolve(hostname).then(
      (addresses) => {
        if (addresses.length === 0 || addresses.some(isBlockedAddress)) {
          return refuse(`${hostname} points to a private or reserved network address; only public feeds can be added`);
        }
        const all = addresses.map((address) => ({ address, family: isIP(address) }));
        if (typeof options === 'object' && options.all) return callback(null, all);
        callback(null, all[0]!.address, all[0]!.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, ''),
    );
  };
  let agent: Promise<Dispatcher> | null = null;
  const dispatcher = () => (agent ??= import('undici').then(({ Agent }) => new Agent({ connect: { lookup: pinnedLookup as never } })));
  return { checkUrl, dispatcher };
}
