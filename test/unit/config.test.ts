import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS, loadConfig } from '../../src/config.ts';
import { InkwireError } from '../../src/errors.ts';

describe('loadConfig', () => {
  it('GIVEN an empty environment THEN uses the documented defaults', () => {
    const config = loadConfig({});
    expect(config.feedUrls).toEqual(['https://dailyink.substack.com/feed']);
    expect(config.pollCron).toBe('*/15 * * * *');
    expect(config.database).toEqual({ kind: 'sqlite', path: './data/inkwire.db' });
    expect(config.feedTimeoutMs).toBe(20_000);
    expect(config.feedMaxBytes).toBe(10 * 1024 * 1024);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('GIVEN several bad values THEN one error names every one of them', () => {
    let error: unknown;
    try {
      loadConfig({
        FEED_URLS: 'ftp://example.com/feed, not a url',
        POLL_CRON: 'every tuesday',
        LOG_LEVEL: 'loud',
        FEED_TIMEOUT_MS: '-5',
        POLL_CONCURRENCY: '1000',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InkwireError);
    const message = (error as InkwireError).message;
    expect((error as InkwireError).code).toBe('config/invalid');
    for (const key of ['FEED_URLS', 'POLL_CRON', 'LOG_LEVEL', 'FEED_TIMEOUT_MS', 'POLL_CONCURRENCY']) {
      expect(message).toContain(key);
    }
    expect(message).not.toContain('DATABASE_URL');
  });

  it('GIVEN a comma-separated list with blanks and duplicates THEN keeps each URL once', () => {
    const config = loadConfig({ FEED_URLS: ' https://a.example/feed ,, https://b.example/rss,https://a.example/feed ' });
    expect(config.feedUrls).toEqual(['https://a.example/feed', 'https://b.example/rss']);
  });

  it('GIVEN a postgres:// DATABASE_URL THEN recognises the PostgreSQL target', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://u@localhost/db' }).database.kind).toBe('postgres');
  });

  it('GIVEN .env.example THEN it lists exactly the schema keys, each with its default', () => {
    const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const entries = new Map(
      example
        .split('\n')
        .filter((line) => /^[A-Z][A-Z0-9_]*=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const),
    );
    expect([...entries.keys()].sort()).toEqual(Object.keys(CONFIG_DEFAULTS).sort());
    for (const [key, value] of Object.entries(CONFIG_DEFAULTS)) expect(entries.get(key), key).toBe(value);
    // And the documented defaults themselves are valid.
    expect(() => loadConfig(Object.fromEntries(entries))).not.toThrow();
  });

  it.each([
    [{ SLACK_BOT_TOKEN: 'xoxb-1' }, ['SLACK_SIGNING_SECRET']],
    [{ SLACK_BOT_TOKEN: 'xoxp-user-token', SLACK_SIGNING_SECRET: 's' }, ['SLACK_BOT_TOKEN']],
    [{ SLACK_CLIENT_ID: '1.2', SLACK_SIGNING_SECRET: 's' }, ['SLACK_CLIENT_ID']],
    [{ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', SLACK_APP_TOKEN: 'xoxb-not-app' }, ['SLACK_APP_TOKEN']],
    [{ SLACK_COMMAND_PREFIX: 'Ink Bot/' }, ['SLACK_COMMAND_PREFIX']],
    [{ SLACK_MANAGE_POLICY: 'anyone' }, ['SLACK_MANAGE_POLICY']],
    [{ SLACK_PORT: '99999' }, ['SLACK_PORT']],
    [{ DISCORD_TOKEN: 'abc', DISCORD_APP_ID: 'not-a-snowflake' }, ['DISCORD_APP_ID']],
    [{ DISCORD_TOKEN: 'abc', DISCORD_APP_ID: '123456789012345678', DISCORD_PUBLIC_KEY: 'not-hex' }, ['DISCORD_PUBLIC_KEY']],
    [{ DISCORD_PUBLIC_KEY: 'a'.repeat(64) }, ['DISCORD_TOKEN']],
    [{ DISCORD_TOKEN: 'abc', DISCORD_APP_ID: '123456789012345678', DISCORD_PUBLIC_KEY: 'a'.repeat(64), HTTP_PORT: '0' }, ['HTTP_PORT']],
    [{ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', HTTP_PORT: '0' }, ['HTTP_PORT']],
    [{ DISCORD_SHARD_IDS: 'one,two' }, ['DISCORD_SHARD_IDS']],
    [{ DISCORD_SHARD_IDS: '0,1' }, ['DISCORD_SHARD_COUNT']],
    [{ DISCORD_SHARD_IDS: '0-3', DISCORD_SHARD_COUNT: '2' }, ['DISCORD_SHARD_IDS']],
    [{ DISCORD_TOKEN: 'abc', DISCORD_APP_ID: '123456789012345678', DISCORD_PUBLIC_KEY: 'a'.repeat(64), DISCORD_SHARD_COUNT: '2' }, ['DISCORD_SHARD_IDS']],
    [{ INSTANCE_ID: 'has spaces' }, ['INSTANCE_ID']],
    [{ ALLOW_ANY_FEED: 'yes', DIGEST_TZ: 'Mars/Olympus' }, ['ALLOW_ANY_FEED', 'DIGEST_TZ']],
    // The settings this version added, each with the garbage it must refuse by name.
    [
      { ALLOW_PRIVATE_FEEDS: 'yes', FEED_MAX_ITEMS: '0', DELIVERY_LEASE_SECONDS: '600', DELIVERY_HELD_SUMMARY_HOURS: '-1', SHUTDOWN_TIMEOUT_SECONDS: 'soon', HTTP_PORT: '70000' },
      ['ALLOW_PRIVATE_FEEDS', 'FEED_MAX_ITEMS', 'DELIVERY_LEASE_SECONDS', 'DELIVERY_HELD_SUMMARY_HOURS', 'SHUTDOWN_TIMEOUT_SECONDS', 'HTTP_PORT'],
    ],
  ])('GIVEN platform settings %j THEN the error names %j and never echoes a secret', (env, keys) => {
    let message = '';
    try {
      loadConfig(env);
    } catch (error) {
      message = (error as Error).message;
    }
    for (const key of keys) expect(message).toContain(key);
    expect(message).not.toContain('xoxp-user-token');
  });

  it('GIVEN HTTP_PORT=0 THEN the operations port is off; the defaults of the new settings are what .env.example says', () => {
    expect(loadConfig({ HTTP_PORT: '0' }).httpPort).toBeNull();
    const defaults = loadConfig({});
    expect(defaults).toMatchObject({ httpPort: 8080, shutdownTimeoutMs: 10_000, feedMaxItems: 200, allowPrivateFeeds: false });
    expect(defaults.delivery).toMatchObject({ leaseMs: 60_000, heldSummaryAfterMs: 24 * 3600_000 });
  });

  it('GIVEN no SLACK_PORT THEN Slack over HTTP shares HTTP_PORT; Socket Mode or SLACK_PORT lets HTTP_PORT be off; a public key selects HTTP interactions', () => {
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' }).slack).toMatchObject({ port: null });
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', SLACK_PORT: '3000', HTTP_PORT: '0' }).slack).toMatchObject({ port: 3000 });
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', SLACK_APP_TOKEN: 'xapp-1', HTTP_PORT: '0' }).httpPort).toBeNull();
    const key = 'AB'.repeat(32);
    expect(loadConfig({ DISCORD_TOKEN: 'abc', DISCORD_APP_ID: '123456789012345678', DISCORD_PUBLIC_KEY: key }).discord).toMatchObject({ publicKey: key.toLowerCase() });
    expect(loadConfig({ DISCORD_TOKEN: 'abc', DISCORD_APP_ID: '123456789012345678' }).discord).toMatchObject({ publicKey: null });
  });

  it('GIVEN shard settings THEN this process runs those shards of the count (or Discord\'s recommendation); INSTANCE_ID defaults to host and pid', () => {
    const base = { DISCORD_TOKEN: 'abc', DISCORD_APP_ID: '123456789012345678' };
    expect(loadConfig({ ...base, DISCORD_SHARD_IDS: '0,2-3', DISCORD_SHARD_COUNT: '4' }).discord?.shards).toEqual({ ids: [0, 2, 3], count: 4 });
    expect(loadConfig({ ...base, DISCORD_SHARD_COUNT: '2' }).discord?.shards).toEqual({ ids: [0, 1], count: 2 });
    expect(loadConfig({ ...base, DISCORD_SHARD_IDS: 'auto' }).discord?.shards).toBe('auto');
    expect(loadConfig(base).discord?.shards).toBeNull();
    expect(loadConfig({}).instanceId).toMatch(new RegExp(`-${process.pid}$`));
    expect(loadConfig({ INSTANCE_ID: 'bot-1' }).instanceId).toBe('bot-1');
  });

  it('GIVEN Discord and Slack settings together THEN both platforms are configured (one process serves both)', () => {
    const config = loadConfig({ DISCORD_TOKEN: 'abc', DISCORD_APP_ID: '123456789012345678', SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' });
    expect(config.discord).toMatchObject({ appId: '123456789012345678' });
    expect(config.slack).toMatchObject({ botToken: 'xoxb-1' });
  });

  it('GIVEN complete Slack OAuth settings THEN the config carries them, with Socket Mode when an app token is set', () => {
    const config = loadConfig({ SLACK_CLIENT_ID: '1.2', SLACK_CLIENT_SECRET: 'c', SLACK_STATE_SECRET: 's', SLACK_SIGNING_SECRET: 'x', SLACK_APP_TOKEN: 'xapp-1' });
    expect(config.slack).toMatchObject({ botToken: null, appToken: 'xapp-1', oauth: { clientId: '1.2' }, commandPrefix: '', managePolicy: 'admins-and-creator' });
    expect(config.discord).toBeNull();
  });
  it('GIVEN a DISCORD_TOKEN with a "Bot " or "Bearer " prefix (any case) THEN the bare token is used and a warning names the prefix, never the token', () => {
    const base = { DISCORD_APP_ID: '123456789012345678' };
    for (const [raw, prefix] of [['Bot abc.def', 'Bot'], ['bearer abc.def', 'bearer'], ['BOT   abc.def', 'BOT']] as const) {
      const config = loadConfig({ ...base, DISCORD_TOKEN: raw });
      expect(config.discord?.token).toBe('abc.def');
      expect(config.warnings).toHaveLength(1);
      expect(config.warnings[0]).toContain(`DISCORD_TOKEN starts with "${prefix} "`);
      expect(config.warnings[0]).not.toContain('abc.def');
    }
    expect(loadConfig({ ...base, DISCORD_TOKEN: 'abc.def' }).warnings).toEqual([]);
    expect(loadConfig({ ...base, DISCORD_TOKEN: 'Botabc.def' }).discord?.token).toBe('Botabc.def');
  });

  it('GIVEN PLATFORM_RETRY_* THEN the retry schedule for a platform down at start follows them (default 1 s doubling to 60 s)', () => {
    expect(loadConfig({}).platformRetry).toEqual({ baseMs: 1000, maxMs: 60_000 });
    expect(loadConfig({ PLATFORM_RETRY_BASE_MS: '250', PLATFORM_RETRY_MAX_SECONDS: '5' }).platformRetry).toEqual({ baseMs: 250, maxMs: 5000 });
    expect(() => loadConfig({ PLATFORM_RETRY_BASE_MS: '5' })).toThrow(/PLATFORM_RETRY_BASE_MS/);
  });
  it('GIVEN bad values for the settings of issues 17 and 18 THEN one error names every one of them; good values reach the config', () => {
    let error: unknown;
    try {
      loadConfig({
        DATABASE_STATEMENT_TIMEOUT_MS: 'forever',
        SLACK_SENDS_PER_SECOND: '0',
        SLACK_HISTORY_TIER: 'tier4',
        SLACK_TIME_SCALE: '2',
        PLATFORM_RETRY_MAX_SECONDS: '-1',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InkwireError);
    const message = (error as InkwireError).message;
    for (const key of ['DATABASE_STATEMENT_TIMEOUT_MS', 'SLACK_SENDS_PER_SECOND', 'SLACK_HISTORY_TIER', 'SLACK_TIME_SCALE', 'PLATFORM_RETRY_MAX_SECONDS']) {
      expect(message).toContain(key);
    }
    expect(message).toContain('must be limited or tier3');
    const slack = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' };
    expect(loadConfig(slack).slack).toMatchObject({ sendsPerSecond: null, historyTier: null, timeScale: 1 });
    expect(loadConfig({ ...slack, SLACK_SENDS_PER_SECOND: '40', SLACK_HISTORY_TIER: 'limited', SLACK_TIME_SCALE: '0.05' }).slack)
      .toMatchObject({ sendsPerSecond: 40, historyTier: 'limited', timeScale: 0.05 });
    expect(loadConfig({ DATABASE_STATEMENT_TIMEOUT_MS: '0' }).databaseStatementTimeoutMs).toBe(0);
  });

  it('GIVEN no HTTP_HOST THEN the operations port binds 127.0.0.1 unless a platform posts to it (then 0.0.0.0); a set HTTP_HOST always wins', () => {
    const discord = { DISCORD_TOKEN: 'abc', DISCORD_APP_ID: '123456789012345678' };
    const slack = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' };
    const publicKey = { DISCORD_PUBLIC_KEY: 'a'.repeat(64) };
    // Nothing on the port must be reachable from elsewhere: loopback.
    expect(loadConfig({}).httpHost).toBe('127.0.0.1'); // console
    expect(loadConfig(discord).httpHost).toBe('127.0.0.1'); // Discord gateway
    expect(loadConfig({ ...slack, SLACK_APP_TOKEN: 'xapp-1' }).httpHost).toBe('127.0.0.1'); // Slack Socket Mode
    expect(loadConfig({ ...slack, SLACK_PORT: '3000' }).httpHost).toBe('127.0.0.1'); // Slack on a port of its own
    // Discord or Slack posts to HTTP_PORT: every interface.
    expect(loadConfig({ ...discord, ...publicKey }).httpHost).toBe('0.0.0.0');
    expect(loadConfig(slack).httpHost).toBe('0.0.0.0');
    expect(loadConfig({ SLACK_CLIENT_ID: '1.2', SLACK_CLIENT_SECRET: 'c', SLACK_STATE_SECRET: 's', SLACK_SIGNING_SECRET: 'x' }).httpHost).toBe('0.0.0.0');
    // An explicit value wins both ways (IPv4 or IPv6).
    expect(loadConfig({ ...discord, ...publicKey, HTTP_HOST: '127.0.0.1' }).httpHost).toBe('127.0.0.1');
    expect(loadConfig({ HTTP_HOST: '0.0.0.0' }).httpHost).toBe('0.0.0.0');
    expect(loadConfig({ HTTP_HOST: '::1' }).httpHost).toBe('::1');
    // Reachable from elsewhere without OPS_TOKEN: a warning (never with a token, never on loopback).
    expect(loadConfig({ HTTP_HOST: '0.0.0.0' }).warnings.join('\n')).toMatch(/listens on 0\.0\.0\.0.*OPS_TOKEN is not set/);
    expect(loadConfig({ ...discord, ...publicKey }).warnings.join('\n')).toMatch(/OPS_TOKEN is not set/);
    expect(loadConfig({ HTTP_HOST: '0.0.0.0', OPS_TOKEN: 'x'.repeat(32) }).warnings).toEqual([]);
    expect(loadConfig({}).warnings).toEqual([]);
    expect(loadConfig({ HTTP_HOST: '0.0.0.0', HTTP_PORT: '0' }).warnings).toEqual([]);
  });

  it('GIVEN OPS_TOKEN THEN the config carries it (null when unset); a bad HTTP_HOST or OPS_TOKEN is named, and the token is never echoed', () => {
    expect(loadConfig({}).opsToken).toBeNull();
    expect(loadConfig({ OPS_TOKEN: 'f'.repeat(64) }).opsToken).toBe('f'.repeat(64));
    let message = '';
    try {
      loadConfig({ HTTP_HOST: 'localhost:8080', OPS_TOKEN: 'short-secret' });
    } catch (error) {
      expect(error).toBeInstanceOf(InkwireError);
      message = (error as Error).message;
    }
    expect(message).toMatch(/HTTP_HOST="localhost:8080": must be an IP address/);
    expect(message).toMatch(/OPS_TOKEN="\[redacted\]": must be 16 to 512 printable characters/);
    expect(message).not.toContain('short-secret');
    for (const bad of ['has a space in it somewhere', 'x'.repeat(513), 'é'.repeat(20)]) expect(() => loadConfig({ OPS_TOKEN: bad }), bad).toThrow(/OPS_TOKEN/);
    for (const bad of ['0.0.0.0.0', 'example.com', '256.1.1.1']) expect(() => loadConfig({ HTTP_HOST: bad }), bad).toThrow(/HTTP_HOST/);
  });

  it('GIVEN COMMAND_RATE_* THEN defaults are 20 commands, 5 searches and 60 per server per 10 s, `off` turns one off, and bad values are named in one error', () => {
    expect(loadConfig({}).commandRates).toEqual({
      member: { count: 20, windowMs: 10_000 },
      search: { count: 5, windowMs: 10_000 },
      server: { count: 60, windowMs: 10_000 },
      autocomplete: { count: 50, windowMs: 10_000 },
    });
    expect(loadConfig({ COMMAND_RATE_SEARCH: '3/1m', COMMAND_RATE_SERVER: 'off' }).commandRates).toMatchObject({ search: { count: 3, windowMs: 60_000 }, server: null });
    let error: unknown;
    try {
      loadConfig({ COMMAND_RATE_MEMBER: 'fast', COMMAND_RATE_SEARCH: '0/10s', COMMAND_RATE_SERVER: '60/2h', COMMAND_RATE_AUTOCOMPLETE: '5 per second' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InkwireError);
    const message = (error as InkwireError).message;
    expect(message).toContain('COMMAND_RATE_MEMBER="fast": must be a count per window such as 5/10s, 30/1m or 100/1h, or off');
    expect(message).toContain('COMMAND_RATE_SEARCH="0/10s": the count must be from 1 to 10000 (or off)');
    expect(message).toContain('COMMAND_RATE_SERVER="60/2h": the window must be from 1s to 1h');
    expect(message).toContain('COMMAND_RATE_AUTOCOMPLETE');
  });

  it('GIVEN MAX_FEEDS_PER_SERVER THEN the default is 10 feeds added from chat per server, 0 turns adding off, and a bad value is named', () => {
    expect(loadConfig({}).limits.feedsPerWorkspace).toBe(10);
    expect(loadConfig({ MAX_FEEDS_PER_SERVER: '0' }).limits.feedsPerWorkspace).toBe(0);
    for (const bad of ['-1', '1001', 'many']) expect(() => loadConfig({ MAX_FEEDS_PER_SERVER: bad }), bad).toThrow(/MAX_FEEDS_PER_SERVER/);
  });
});
