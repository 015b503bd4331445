// Runs the fake Discord in its own process so the benchmark measures the bot's memory alone.
// Usage: node --import tsx bench/discord-fake-process.ts <guilds> <channels-per-guild> <token> <app-id>
import { snowflake, startFakeDiscord } from '../test/fakes/discord/fake-discord.ts';

const [guildCount, perGuild, token, appId] = process.argv.slice(2);
const guilds = Array.from({ length: Number(guildCount) }, (_, g) => ({
  id: snowflake(), name: `guild-${g}`, channels: Array.from({ length: Number(perGuild) }, (_, c) => ({ id: snowflake(), name: `channel-${c}` })),
}));
const fake = await startFakeDiscord({ token: token!, appId: appId!, guilds });
process.stdout.write(`${fake.apiUrl}\n`);
process.once('SIGTERM', () => void fake.close().then(() => process.exit(0)));
