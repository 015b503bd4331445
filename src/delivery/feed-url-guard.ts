import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

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

export function isBlockedAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return BLOCKED.check(mapped[1]!, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return BLOCKED.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export type HostResolver = (hostname: string) => Promise<string[]>;

const systemResolver: HostResolver = async (hostname) => (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

/**
 * A URL guard for feeds that users add: refuses hosts that are, or resolve to, private network
 * addresses. Checked before every request, including each redirect hop.
 */
export function createPublicAddressGuard(resolve: HostResolver = systemResolver) {
  return async (url: URL): Promise<string | null> => {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (/^localhost$/i.test(host) || host.endsWith('.localhost') || host.endsWith('.internal') || host.endsWith('.local')) {
      return `${host} is a local address; only public feeds can be added`;
    }
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
}
