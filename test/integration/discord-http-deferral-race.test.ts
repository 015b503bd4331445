import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { cleanupsAfterEach } from '../fakes/cleanups.ts';
import { startDiscordHttpAdapter } from '../../adapters/discord/discord-http-adapter.ts';
import { GENERIC_FAILURE } from '../../src/commands/command-runner.ts';
import type { CommandSpec } from '../../src/commands/command-spec.ts';
import { textReply } from '../../src/commands/reply.ts';
import { createSilentLogger } from '../../src/logger.ts';
import { createCoreFixture } from '../fakes/core-fixture.ts';
import { snowflake, startFakeDiscord } from '../fakes/discord/fake-discord.ts';

/** A command that runs past the 2 s deferral point, then answers (or fails). */
const slow = (name: string, visibility: 'public' | 'private', fail = false): CommandSpec => ({
  name, description: 'slow', options: [], permission: 'everyone',
  handle: async () => {
    await new Promise((resolve) => setTimeout(resolve, 2200));
    if (fail) throw new Error('the database went away');
    return textReply(visibility, `${name} done`);
  },
});

describe('a deferred HTTP interaction is edited only once Discord has the deferral', () => {
  const cleanups = cleanupsAfterEach();

  async function start() {
    const appId = snowflake();
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const hex = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
    const guild = { id: snowflake(), name: 'Readers', channels: [{ id: snowflake(), name: 'papers' }] };
    // Discord processes each deferral only after an edit has beaten it: the race happens every time.
    const fake = await startFakeDiscord({ token: 'race-token', appId, guilds: [guild], deferralLag: 'after-first-edit' });
    const fixture = createCoreFixture();
    const adapter = await startDiscordHttpAdapter({
      token: 'race-token', appId, publicKey: hex, apiUrl: fake.apiUrl, services: fixture.core.commandServices, logger: createSilentLogger(),
      commands: [slow('slowprivate', 'private'), slow('slowpublic', 'public'), slow('slowfail', 'private', true)],
    });
    const server = createServer((req, res) => adapter.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => fake.close(), () => fixture.store.close(), () => adapter.stop(), () => new Promise<void>((resolve) => server.close(() => resolve())));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/discord/interactions`;
    const run = (name: string) => fake.interactOverHttp(endpoint, privateKey, { type: 2, guildId: guild.id, channelId: guild.channels[0]!.id, data: { id: snowflake(), name, type: 1, options: [] } });
    return { fake, run };
  }

  it('GIVEN Discord answers 10062 to an edit that beats the deferral THEN the edit is made again and the answer lands', async () => {
    const { fake, run } = await start();
    const { interaction } = await run('slowprivate');
    expect(interaction.callbacks).toEqual([{ type: 5, data: { flags: 64 } }]);
    expect(fake.counters.earlyEdits).toBe(1);
    expect(interaction.edits).toEqual([expect.objectContaining({ content: 'slowprivate done' })]);
    expect(fake.violations).toEqual([]);
  });

  it('GIVEN a public answer after a private deferral and the same race THEN the placeholder is removed and the answer follows up', async () => {
    const { fake, run } = await start();
    const { interaction } = await run('slowpublic');
    expect(fake.counters.earlyEdits).toBe(1);
    expect(interaction.deleted).toBe(true);
    expect(interaction.followups).toEqual([expect.objectContaining({ content: 'slowpublic done' })]);
    expect(fake.violations).toEqual([]);
  });

  it('GIVEN a command that fails after the deferral and the same race THEN the apology still replaces "thinking…"', async () => {
    const { fake, run } = await start();
    const { interaction } = await run('slowfail');
    expect(fake.counters.earlyEdits).toBe(1);
    expect(interaction.edits).toEqual([expect.objectContaining({ content: GENERIC_FAILURE })]);
    expect(fake.violations).toEqual([]);
  });
});
