import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { startDiscordHttpAdapter } from '../../adapters/discord/discord-http-adapter.ts';
import { startSlackAdapter } from '../../adapters/slack/slack-adapter.ts';
import { ALL_COMMANDS } from '../../commands/index.ts';
import { buildCore } from '../../src/app.ts';
import { systemClock } from '../../src/clock.ts';
import type { CommandSpec } from '../../src/commands/command-spec.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger, createSilentLogger } from '../../src/logger.ts';
import { openPostgresStore } from '../../src/storage/postgres/pg-store.ts';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import type { Store } from '../../src/storage/store.ts';
import { cleanupsAfterEach } from '../fakes/cleanups.ts';
import { snowflake, startFakeDiscord, type FakeDiscord } from '../fakes/discord/fake-discord.ts';
import { startFakeSlack } from '../fakes/slack/fake-slack.ts';
import { dropSchemas, STORE_BACKENDS, TEST_DATABASE_URL, uniqueSchema, type StoreBackend } from '../fakes/store-backends.ts';

const FEED = 'https://dailyink.substack.com/feed';
const ADMINISTRATOR = 1n << 3n;
const SLACK_SECRET = 'replay-signing-secret';
const SLACK_TOKEN = 'xoxb-replay';

/** A logger whose JSON lines are kept: the adapter says when it refuses a repeat (before acknowledging it). */
function recordingLogger() {
  const lines: string[] = [];
  const destination = new Writable({ write: (chunk: Buffer, _encoding, done) => void (lines.push(chunk.toString('utf8')), done()) });
  return { logger: createLogger({ level: 'info', pretty: false, destination }), refusals: () => lines.filter((l) => l.includes('already handled')).length };
}

/** Every command, with `/unsubscribe` counting its runs: the replay must not add one. */
function countingCommands(runs: { unsubscribe: number }): CommandSpec[] {
  return ALL_COMMANDS.map((spec) => (spec.name !== 'unsubscribe' ? spec : {
    ...spec,
    handle: async (...args: Parameters<CommandSpec['handle']>) => {
      runs.unsubscribe++;
      return spec.handle(...args);
    },
  }));
}

/** A signed request exactly as Discord posts one: an admin's slash command in a server channel. */
function signedCommand(privateKey: KeyObject, appId: string, at: { guildId: string; channelId: string }, name: string, options: Array<{ name: string; type: number; value: string }>) {
  const id = snowflake();
  const user = { id: '100000000000000001', username: 'admin', discriminator: '0', avatar: null, global_name: 'Admin' };
  const body = JSON.stringify({
    id, application_id: appId, type: 2, token: `tok-${id}`, version: 1,
    data: { id: snowflake(), name, type: 1, options },
    guild_id: at.guildId, channel_id: at.channelId, channel: { id: at.channelId, type: 0, guild_id: at.guildId, name: 'papers' },
    member: { user, roles: [], permissions: String(ADMINISTRATOR), joined_at: '2024-01-01T00:00:00.000Z', deaf: false, mute: false, flags: 0 },
    app_permissions: '0', locale: 'en-US', guild_locale: 'en-US', entitlements: [], authorizing_integration_owners: { '0': at.guildId }, context: 0,
  });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = sign(null, Buffer.from(timestamp + body), privateKey).toString('hex');
  return { body, headers: { 'content-type': 'application/json', 'x-signature-ed25519': signature, 'x-signature-timestamp': timestamp } };
}
type SignedRequest = ReturnType<typeof signedCommand>;

/** Posts a request (the same bytes and headers every time it is given). */
async function send(endpoint: string, request: SignedRequest) {
  const res = await fetch(endpoint, { method: 'POST', headers: request.headers, body: request.body });
  const text = await res.text();
  return { status: res.status, text, answer: res.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as { type: number; data: { content?: string } }) : null };
}

/** One stateless Discord HTTP-interactions instance: the real adapter over a core on `store`, on its own port. */
async function startDiscordInstance(store: Store, discord: FakeDiscord, appId: string, publicKeyHex: string, runs: { unsubscribe: number }, cleanups: ReturnType<typeof cleanupsAfterEach>) {
  await store.feeds.ensure(FEED, systemClock.now());
  const commands = countingCommands(runs);
  const core = buildCore({ config: loadConfig({ FEED_URLS: FEED }), store, fetch: globalThis.fetch, clock: systemClock, logger: createSilentLogger(), commands });
  const adapter = await startDiscordHttpAdapter({
    token: 'replay-token', appId, publicKey: publicKeyHex, apiUrl: discord.apiUrl, commands, services: core.commandServices, logger: createSilentLogger(),
    receipts: store.interactionReceipts,
  });
  const server = createServer((req, res) => adapter.handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }), () => adapter.stop(), () => core.closeParser());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/discord/interactions`;
}

function applicationKeys() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { hex: Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex'), privateKey };
}

describe.each(STORE_BACKENDS)('each interaction handled once on %s', (name, makeBackend, skip) => {
  let backend: StoreBackend;
  const cleanups = cleanupsAfterEach();
  beforeEach((context) => {
    if (skip) return context.skip('TEST_DATABASE_URL is not set (see the warning above)');
    backend ??= makeBackend();
  });
  afterAll(async () => backend?.cleanup());

  it('GIVEN an admin\'s signed `/unsubscribe feed:all` replayed byte for byte within the signature window THEN it is refused with 409 and runs once: the channel\'s new subscription survives', async () => {
    const store = await backend.open();
    const appId = snowflake();
    const keys = applicationKeys();
    const discord = await startFakeDiscord({ token: 'replay-token', appId, guilds: [] });
    cleanups.push(() => discord.close());
    const runs = { unsubscribe: 0 };
    const endpoint = await startDiscordInstance(store, discord, appId, keys.hex, runs, cleanups);
    const at = { guildId: snowflake(), channelId: snowflake() };

    expect((await send(endpoint, signedCommand(keys.privateKey, appId, at, 'subscribe', []))).answer?.data.content).toMatch(/Subscribed/);
    const unsubscribe = signedCommand(keys.privateKey, appId, at, 'unsubscribe', [{ name: 'feed', type: 3, value: 'all' }]);
    const first = await send(endpoint, unsubscribe);
    expect(first.status).toBe(200);
    expect(first.answer?.data.content).toMatch(/Unsubscribed this channel/);
    expect(await store.subscriptions.listForChannel('discord', at.channelId)).toEqual([]);
    // The channel is subscribed again, by a new command.
    expect((await send(endpoint, signedCommand(keys.privateKey, appId, at, 'subscribe', []))).answer?.data.content).toMatch(/Subscribed/);

    const replay = await send(endpoint, unsubscribe);
    expect(replay.status).toBe(409);
    expect(replay.text).toBe('interaction already handled\n');
    expect(runs.unsubscribe).toBe(1);
    expect(await store.subscriptions.listForChannel('discord', at.channelId)).toHaveLength(1);
    expect(discord.violations).toEqual([]);
  });

  it('GIVEN Slack retries an event (X-Slack-Retry-Num, same event_id) and a signed slash command is sent twice THEN each runs once, and both repeats are acknowledged', async () => {
    const store = await backend.open();
    await store.feeds.ensure(FEED, systemClock.now());
    const slack = await startFakeSlack({ tokens: { T1: SLACK_TOKEN }, admins: ['UADMIN'], channels: { CPAPERS: {} }, signingSecret: SLACK_SECRET });
    cleanups.push(() => slack.close());
    const runs = { unsubscribe: 0 };
    const removed: string[] = [];
    const log = recordingLogger();
    const commands = countingCommands(runs);
    const core = buildCore({ config: loadConfig({ FEED_URLS: FEED }), store, fetch: globalThis.fetch, clock: systemClock, logger: createSilentLogger(), commands });
    const adapter = await startSlackAdapter({
      signingSecret: SLACK_SECRET, botToken: SLACK_TOKEN, port: 0, apiUrl: slack.apiUrl, commandPrefix: '', managePolicy: 'admins-and-creator',
      commands, services: core.commandServices, logger: log.logger, receipts: store.interactionReceipts,
      onWorkspaceRemoved: async (team) => void removed.push(team),
    });
    cleanups.push(() => adapter.stop(), () => core.closeParser());
    const events = `http://127.0.0.1:${(adapter.server!.address() as AddressInfo).port}/slack/events`;
    let invocation = 0;
    const command = (text: string, commandName: string) => {
      const id = `${name}-${++invocation}`;
      return {
        id,
        fields: {
          token: 'legacy', team_id: 'T1', team_domain: 'readers', channel_id: 'CPAPERS', channel_name: 'papers', user_id: 'UADMIN', user_name: 'admin',
          command: commandName, text, api_app_id: 'A1', is_enterprise_install: 'false', response_url: slack.responseUrl(id), trigger_id: `1337.42.trig${id}`,
        },
      };
    };
    /** Waits for the answer through response_url (give-up time for a loaded machine, not a speed bound). */
    const answerTo = async (id: string) => {
      const deadline = Date.now() + 15_000;
      while (!slack.responses.some((r) => r.id === id) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      return (slack.responses.find((r) => r.id === id)?.body as { text?: string } | undefined)?.text ?? '';
    };

    const subscribe = command('', '/subscribe');
    await slack.sendCommand(events, subscribe.fields);
    expect(await answerTo(subscribe.id)).toMatch(/Subscribed/);
    const unsubscribe = command('all', '/unsubscribe');
    const sent = await slack.sendCommand(events, unsubscribe.fields);
    expect(sent.status).toBe(200);
    expect(await answerTo(unsubscribe.id)).toMatch(/Unsubscribed/);
    const again = command('', '/subscribe');
    await slack.sendCommand(events, again.fields);
    expect(await answerTo(again.id)).toMatch(/Subscribed/);
    // The same signed command once more, byte for byte: refused before its acknowledgement (200), so
    // nothing runs and nothing is answered.
    const replay = await fetch(sent.endpoint, { method: 'POST', headers: sent.headers, body: sent.body });
    expect(replay.status).toBe(200);
    expect(log.refusals()).toBe(1);
    expect(runs.unsubscribe).toBe(1);
    expect(await store.subscriptions.listForChannel('slack', 'CPAPERS')).toHaveLength(1);
    expect(slack.responses.filter((r) => r.id === unsubscribe.id)).toHaveLength(1);

    // An event, then Slack's retries of it (as if the first answer had been lost): the handler runs once.
    const uninstalled = await slack.sendEvent(events, { token: 'x', team_id: 'T1', api_app_id: 'A1', type: 'event_callback', event_id: `Ev-${name}-1`, event_time: 1, event: { type: 'app_uninstalled' } });
    expect(uninstalled.status).toBe(200);
    const deadline = Date.now() + 15_000; // a give-up time, not a speed bound
    while (removed.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    for (const num of [1, 2, 3]) expect((await slack.retry(uninstalled, num)).status).toBe(200);
    // Bolt acknowledges an event before any middleware: wait until each retry has been refused.
    while (log.refusals() < 4 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(log.refusals()).toBe(4);
    // A different event still runs: the receipts are per event_id.
    await slack.sendEvent(events, { token: 'x', team_id: 'T9', api_app_id: 'A1', type: 'event_callback', event_id: `Ev-${name}-2`, event_time: 2, event: { type: 'app_uninstalled' } });
    while (removed.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(removed).toEqual(['T1', 'T9']);
    expect(slack.violations).toEqual([]);
  });
});

describe.skipIf(!TEST_DATABASE_URL)('two stateless Discord instances on one PostgreSQL database', () => {
  const cleanups = cleanupsAfterEach();

  it('GIVEN an interaction handled by one instance THEN its replay sent to the other is refused (409); the same interaction sent to both at once runs on exactly one', async () => {
    const schema = uniqueSchema('replay');
    const [storeA, storeB] = [await openPostgresStore(TEST_DATABASE_URL, { schema, poolSize: 4 }), await openPostgresStore(TEST_DATABASE_URL, { schema, poolSize: 4 })];
    cleanups.push(() => dropSchemas([schema]), () => storeA.close(), () => storeB.close());
    const appId = snowflake();
    const keys = applicationKeys();
    const discord = await startFakeDiscord({ token: 'replay-token', appId, guilds: [] });
    cleanups.push(() => discord.close());
    const runs = { unsubscribe: 0 };
    const endpointA = await startDiscordInstance(storeA, discord, appId, keys.hex, runs, cleanups);
    const endpointB = await startDiscordInstance(storeB, discord, appId, keys.hex, runs, cleanups);
    const at = { guildId: snowflake(), channelId: snowflake() };

    expect((await send(endpointA, signedCommand(keys.privateKey, appId, at, 'subscribe', []))).answer?.data.content).toMatch(/Subscribed/);
    const unsubscribe = signedCommand(keys.privateKey, appId, at, 'unsubscribe', [{ name: 'feed', type: 3, value: 'all' }]);
    expect((await send(endpointA, unsubscribe)).answer?.data.content).toMatch(/Unsubscribed this channel/);
    expect((await send(endpointB, signedCommand(keys.privateKey, appId, at, 'subscribe', []))).answer?.data.content).toMatch(/Subscribed/);

    const replay = await send(endpointB, unsubscribe);
    expect(replay.status).toBe(409);
    expect(runs.unsubscribe).toBe(1);
    expect(await storeB.subscriptions.listForChannel('discord', at.channelId)).toHaveLength(1);

    // One request delivered to both instances at the same moment: exactly one runs it.
    const race = signedCommand(keys.privateKey, appId, at, 'unsubscribe', [{ name: 'feed', type: 3, value: 'all' }]);
    const answers = await Promise.all([send(endpointA, race), send(endpointB, race)]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    expect(runs.unsubscribe).toBe(2);
    expect(await storeA.subscriptions.listForChannel('discord', at.channelId)).toEqual([]);
    expect(discord.violations).toEqual([]);
  });
});

describe('Slack Socket Mode retries', () => {
  const cleanups = cleanupsAfterEach();

  it('GIVEN an event envelope and Slack\'s retry of it (a new envelope, retry_attempt 1, the same event_id) THEN both envelopes are acknowledged and the handler runs once', async () => {
    const slack = await startFakeSlack({ tokens: { T1: SLACK_TOKEN }, appToken: 'xapp-replay' });
    cleanups.push(() => slack.close());
    const store = openSqliteStore(':memory:');
    cleanups.push(() => store.close());
    const core = buildCore({ config: loadConfig({ FEED_URLS: FEED }), store, fetch: globalThis.fetch, clock: systemClock, logger: createSilentLogger(), commands: ALL_COMMANDS });
    const removed: string[] = [];
    const log = recordingLogger();
    const adapter = await startSlackAdapter({
      signingSecret: 'unused-in-socket-mode', botToken: SLACK_TOKEN, appToken: 'xapp-replay', apiUrl: slack.apiUrl, commandPrefix: '', managePolicy: 'admins-and-creator',
      commands: ALL_COMMANDS, services: core.commandServices, logger: log.logger, receipts: store.interactionReceipts,
      onWorkspaceRemoved: async (team) => void removed.push(team),
    });
    cleanups.push(() => adapter.stop(), () => core.closeParser());
    const deadline = Date.now() + 15_000; // a give-up time for a loaded machine, not a speed bound
    while (slack.socketCount() === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    const callback = { token: 'x', team_id: 'T1', api_app_id: 'A1', type: 'event_callback', event_id: 'Ev-socket-1', event_time: 1, event: { type: 'app_uninstalled' } };
    const first = slack.sendEventEnvelope(callback);
    while (removed.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    const retry = slack.sendEventEnvelope(callback, 1);
    while ((log.refusals() === 0 || !slack.socketAcks.some((a) => a.envelope_id === retry)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(slack.socketAcks.map((a) => a.envelope_id)).toEqual(expect.arrayContaining([first, retry]));
    expect(log.refusals()).toBe(1);
    expect(removed).toEqual(['T1']);
  });
});

describe.each(STORE_BACKENDS)('the interaction receipts port on %s', (_name, makeBackend, skip) => {
  let backend: StoreBackend;
  beforeEach((context) => {
    if (skip) return context.skip('TEST_DATABASE_URL is not set (see the warning above)');
    backend ??= makeBackend();
  });
  afterAll(async () => backend?.cleanup());

  it('GIVEN claims of one id THEN the first wins (also among 20 at once), the rest lose until it expires; prune deletes only expired receipts', async () => {
    const { interactionReceipts: receipts } = await backend.open();
    const t0 = new Date('2026-01-01T00:00:00Z');
    const at = (ms: number) => new Date(t0.getTime() + ms);
    expect(await receipts.claim('discord:1', t0, 1000)).toBe(true);
    expect(await receipts.claim('discord:1', at(999), 1000)).toBe(false);
    expect(await receipts.claim('discord:2', at(10), 5000)).toBe(true);
    const together = await Promise.all(Array.from({ length: 20 }, () => receipts.claim('discord:3', at(20), 1000)));
    expect(together.filter(Boolean)).toHaveLength(1);
    // Expired: claimable again (its signed request is no longer accepted anyway), and pruned.
    expect(await receipts.claim('discord:1', at(1000), 1000)).toBe(true);
    expect(await receipts.prune(at(1500))).toBe(1); // discord:3 (expired at 1020); discord:1 now lasts to 2000
    expect(await receipts.claim('discord:3', at(1500), 1000)).toBe(true);
    expect(await receipts.claim('discord:2', at(1500), 1000)).toBe(false);
    expect(await receipts.prune(at(10_000))).toBe(3);
  });
});
