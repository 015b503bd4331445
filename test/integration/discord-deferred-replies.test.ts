import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDiscordAdapter, type DiscordAdapter } from '../../adapters/discord/discord-adapter.ts';
import type { CommandSpec } from '../../src/commands/command-spec.ts';
import { textReply } from '../../src/commands/reply.ts';
import { createSilentLogger } from '../../src/logger.ts';
import { createCoreFixture } from '../fakes/core-fixture.ts';
import { snowflake, startFakeDiscord, type FakeDiscord } from '../fakes/discord/fake-discord.ts';

const TOKEN = 'test-token-not-a-real-one';

/** A command that answers after `ms`, publicly or privately: what a slow search or subscribe looks like. */
const slow = (name: string, ms: number, visibility: 'public' | 'private'): CommandSpec => ({
  name, description: 'slow', options: [], permission: 'everyone',
  handle: async () => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return textReply(visibility, `${name} done`);
  },
});

describe('Discord replies that take longer than 2 s', () => {
  const guild = { id: snowflake(), name: 'Readers', channels: [{ id: snowflake(), name: 'papers' }] };
  const appId = snowflake();
  let fake: FakeDiscord;
  let adapter: DiscordAdapter;
  let fixture: ReturnType<typeof createCoreFixture>;

  beforeAll(async () => {
    // Discord takes 300 ms to acknowledge the defer, so the answer is ready while the defer is in flight.
    fake = await startFakeDiscord({ token: TOKEN, appId, guilds: [guild], callbackDelayMs: 300 });
    fixture = createCoreFixture();
    adapter = await startDiscordAdapter({
      token: TOKEN, appId, apiUrl: fake.apiUrl, services: fixture.core.commandServices, logger: createSilentLogger(),
      commands: [slow('racing', 2100, 'private'), slow('slowpublic', 2300, 'public')],
      onWorkspaceRemoved: async () => {}, onChannelRemoved: async () => {},
    });
  });
  afterAll(async () => {
    await adapter?.stop();
    await fake?.close();
    await fixture?.store.close();
  });

  const run = (name: string) => fake.interact({ type: 2, guildId: guild.id, channelId: guild.channels[0]!.id, data: { id: snowflake(), name, type: 1, options: [] } });

  it('GIVEN an answer ready while the defer is still in flight THEN the reply is edited after the defer returns, never left "thinking"', async () => {
    const interaction = await run('racing');
    expect(interaction.callbacks).toEqual([expect.objectContaining({ type: 5, data: { flags: 64 } })]);
    expect(interaction.edits).toEqual([expect.objectContaining({ content: 'racing done' })]);
    expect(fake.violations).toEqual([]);
  });

  it('GIVEN a public answer after a private defer THEN the private placeholder is removed and the answer is posted for everyone', async () => {
    const interaction = await run('slowpublic');
    expect(interaction.callbacks[0]).toMatchObject({ type: 5 });
    expect(interaction.deleted).toBe(true);
    expect(interaction.followups).toHaveLength(1);
    expect(interaction.followups[0]).toMatchObject({ content: 'slowpublic done' });
    expect((interaction.followups[0] as { flags?: number }).flags ?? 0).toBe(0);
    expect(fake.violations).toEqual([]);
  });
});
