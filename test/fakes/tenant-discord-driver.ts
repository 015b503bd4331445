import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startDiscordAdapter } from '../../adapters/discord/discord-adapter.ts';
import { startDiscordHttpAdapter } from '../../adapters/discord/discord-http-adapter.ts';
import { ALL_COMMANDS, findCommand } from '../../commands/index.ts';
import { createSilentLogger } from '../../src/logger.ts';
import { snowflake, startFakeDiscord, type FakeDiscord, type InteractionInput } from './discord/fake-discord.ts';
import { textsOf, type OptionValues, type TenantDriver, type Who, type World } from './tenant-matrix.ts';

const MANAGE_CHANNELS = 1n << 4n;
const OPTION_TYPES = { string: 3, integer: 4, boolean: 5, channel: 7 } as const;

/**
 * Discord with two guilds, A and B, each with a channel, a manager (Manage Channels) and a member, and B's
 * member also in a direct message with the bot; over the gateway or over HTTP interactions.
 */
export async function startDiscordTenants(world: World, mode: 'gateway' | 'http'): Promise<TenantDriver> {
  const token = `tenant-${mode}-token`;
  const appId = snowflake();
  const guildA = { id: snowflake(), name: 'A', channels: [{ id: snowflake(), name: 'a-papers' }] };
  const guildB = { id: snowflake(), name: 'B', channels: [{ id: snowflake(), name: 'b-papers' }] };
  const users = { 'A-manager': snowflake(), 'A-member': snowflake(), 'B-manager': snowflake(), 'B-member': snowflake() };
  const dmChannel = snowflake();
  const fake: FakeDiscord = await startFakeDiscord({ token, appId, guilds: [guildA, guildB] });
  const placeOf = (who: Who) => {
    if (who === 'DM') return { guildId: null, channelId: dmChannel, userId: users['B-member'], permissions: 0n };
    const guild = who.startsWith('A') ? guildA : guildB;
    return { guildId: guild.id, channelId: guild.channels[0]!.id, userId: users[who], permissions: who.endsWith('manager') ? MANAGE_CHANNELS : 0n };
  };

  let interact: (input: InteractionInput) => ReturnType<FakeDiscord['interact']>;
  let stopAdapter: () => Promise<void>;
  let platform: TenantDriver['platform'];
  if (mode === 'gateway') {
    const adapter = await startDiscordAdapter({
      token, appId, apiUrl: fake.apiUrl, commands: ALL_COMMANDS, services: world.core.commandServices, logger: createSilentLogger(),
      onWorkspaceRemoved: async () => {}, onChannelRemoved: async () => {},
    });
    interact = (input) => fake.interact(input);
    stopAdapter = () => adapter.stop();
    platform = adapter;
  } else {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const hex = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
    const adapter = await startDiscordHttpAdapter({ token, appId, publicKey: hex, apiUrl: fake.apiUrl, commands: ALL_COMMANDS, services: world.core.commandServices, logger: createSilentLogger() });
    const server: Server = createServer((req, res) => adapter.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/discord/interactions`;
    interact = async (input) => {
      const answered = await fake.interactOverHttp(endpoint, privateKey, input);
      if (answered.status !== 200) throw new Error(`the interactions endpoint answered ${answered.status}: ${answered.text}`);
      return answered.interaction;
    };
    stopAdapter = async () => {
      await adapter.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    };
    platform = adapter;
  }

  const optionsOf = (command: string, values: OptionValues, focused?: string) =>
    Object.entries(values).map(([name, value]) => {
      const spec = findCommand(command)?.options.find((o) => o.name === name);
      if (!spec) throw new Error(`/${command} has no option ${name}`);
      return { name, type: OPTION_TYPES[spec.type], value, ...(name === focused ? { focused: true } : {}) };
    });
  const answerOf = (interaction: Awaited<ReturnType<FakeDiscord['interact']>>) =>
    textsOf([interaction.callbacks.map((c) => c.data), interaction.edits, interaction.followups]).join('\n');

  return {
    platform,
    workspaces: { A: guildA.id, B: guildB.id },
    shareRunsSearch: false,
    async run(who, command, values = {}) {
      const interaction = await interact({ type: 2, ...placeOf(who), data: { id: snowflake(), name: command, type: 1, options: optionsOf(command, values) } });
      return answerOf(interaction);
    },
    async press(who, actionId) {
      return answerOf(await interact({ type: 3, ...placeOf(who), data: { custom_id: actionId, component_type: 2 } }));
    },
    async autocomplete(who, command, option, partial) {
      const interaction = await interact({ type: 4, ...placeOf(who), data: { id: snowflake(), name: command, type: 1, options: optionsOf(command, { [option]: partial }, option) } });
      const callback = interaction.callbacks[0] as { type: number; data: { choices: Array<{ name: string; value: string }> } } | undefined;
      if (callback?.type !== 8) throw new Error(`autocomplete answered ${JSON.stringify(callback)}`);
      return callback.data.choices.map((c) => `${c.name} ${c.value}`);
    },
    directMessagesTo(who) {
      const channel = fake.dmChannelOf(users[who]);
      return channel ? fake.messagesIn(channel).map((m) => textsOf(m.body).join('\n')) : [];
    },
    violations: () => fake.violations,
    async stop() {
      await stopAdapter();
      await fake.close();
    },
  };
}
