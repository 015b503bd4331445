// Tests may only talk to servers they start on this machine. Any other address fails loudly,
// so a fixture that leaks a real host (dailyink.substack.com, discord.com) is caught, not fetched.
const realFetch = globalThis.fetch;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
  const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
  if (!LOOPBACK.has(url.hostname)) {
    throw new Error(`test tried to reach ${url.hostname}: tests may only use servers on 127.0.0.1`);
  }
  return realFetch(input, init);
}) as typeof fetch;
