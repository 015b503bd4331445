import { describe, expect, it } from 'vitest';
import { startSlackAdapter } from '../../adapters/slack/slack-adapter.ts';
import { ALL_COMMANDS } from '../../commands/index.ts';
import { createSilentLogger } from '../../src/logger.ts';
import { cleanupsAfterEach } from '../fakes/cleanups.ts';
import { createCoreFixture } from '../fakes/core-fixture.ts';
import { startOutageProxy } from '../fakes/outage-proxy.ts';
import { startFakeSlack } from '../fakes/slack/fake-slack.ts';

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000; // a give-up time for a loaded machine, not a speed bound
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('Slack Socket Mode connection state (for /readyz) and reconnection', () => {
  const cleanups = cleanupsAfterEach();

  it('GIVEN the socket drops while Slack is unreachable THEN the adapter reports not connected, the process survives (no unhandled rejection), and it reconnects once Slack is back', async () => {
    const fake = await startFakeSlack({ tokens: { T1: 'xoxb-socket' }, appToken: 'xapp-socket', channels: {} });
    const proxy = await startOutageProxy(fake.apiUrl);
    const fixture = createCoreFixture({});
    cleanups.push(() => fake.close(), () => proxy.close(), () => fixture.store.close());
    const adapter = await startSlackAdapter({
      signingSecret: 'unused', botToken: 'xoxb-socket', appToken: 'xapp-socket', apiUrl: proxy.url,
      commandPrefix: '', managePolicy: 'admins', commands: ALL_COMMANDS, services: fixture.core.commandServices, logger: createSilentLogger(),
    });
    cleanups.push(() => adapter.stop());
    await until('the first socket', () => fake.socketCount() === 1);
    expect(adapter.isConnected?.()).toBe(true);

    proxy.down(); // apps.connections.open now answers 503
    fake.sendEnvelope({ type: 'disconnect', reason: 'warning', debug_info: { host: 'fake' } });
    await until('the adapter to report the drop', () => adapter.isConnected?.() === false);
    await until('a failed reconnect attempt', () => proxy.counts.refused >= 1);
    expect(adapter.isConnected?.()).toBe(false);

    proxy.up();
    await until('the reconnection', () => adapter.isConnected?.() === true);
    await until('the new socket', () => fake.socketCount() === 1);
    expect(fake.violations).toEqual([]);
  });
});
