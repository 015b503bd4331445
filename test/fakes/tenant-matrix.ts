import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_COMMANDS } from '../../commands/index.ts';
import { buildCore, type Core } from '../../src/app.ts';
import { createManualClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import { redactUrl } from '../../src/feeds/url-secrets.ts';
import { createSilentLogger } from '../../src/logger.ts';
import type { ChatPlatform } from '../../src/platform/chat-platform.ts';
import type { Store } from '../../src/storage/store.ts';
import { startFeedServer, type FeedServer } from './feed-server.ts';
import { STORE_BACKENDS, type StoreBackend } from './store-backends.ts';

/**
 * The tenant matrix (issue 19): two servers or workspaces, A and B, on one bot and one database. A adds a
 * private feed (credentials in its URL) from chat; B's manager, B's member and a direct message then try
 * every way in: each attempt is refused or shows nothing of A, and the store is unchanged. A sees its own
 * feed everywhere (the positive control: the matrix cannot pass by showing nothing to anyone).
 */

/** Who acts: a manager or a member of A or B, or B's member in a direct message with the bot. */
export type Who = 'A-manager' | 'A-member' | 'B-manager' | 'B-member' | 'DM';

export type OptionValues = Record<string, string | number | boolean>;

/** One platform mode, driven through its real adapter and protocol-faithful fake. */
export interface TenantDriver {
  platform: ChatPlatform;
  /** The platform's workspace ids of A and B (Discord guild, Slack team). */
  workspaces: { A: string; B: string };
  /** Runs a slash command; resolves with every text the bot answered (reply, embeds, blocks), as one string. */
  run(who: Who, command: string, options?: OptionValues): Promise<string>;
  /** Presses a button with this id (a replayed or forged one); resolves with the answer's text. */
  press(who: Who, actionId: string): Promise<string>;
  /** The autocomplete choices (labels and values) for a partial option value; null where the platform has none (Slack). */
  autocomplete: ((who: Who, command: string, option: string, partial: string) => Promise<string[]>) | null;
  /**
   * Whether the "Share in channel" button runs the search its id carries (Slack), or reposts the message it
   * sits on, which Discord itself sends with the press (Discord: a forged id cannot choose what is shown).
   */
  shareRunsSearch: boolean;
  /** Every direct message the bot sent this person, as text. */
  directMessagesTo(who: 'A-member' | 'B-member'): string[];
  /** Protocol violations the fake recorded (none expected). */
  violations(): string[];
  stop(): Promise<void>;
}

const PASSWORD = 'tenantpw5521';
const TOKEN = 'TOKENacme9907';
/** A's private post: the word people search for, the title and the paper it explains. */
export const DISTINCTIVE = 'quokkafold';
const TITLE = 'Zebrine lattices explained';
export const ARXIV_ID = '2403.01234';
const FEED_TITLE = 'Acme Private Briefings';
const OPEN_TITLE = 'Open Notes Weekly';
const OPEN_POST = 'Hollowmere sampling, the open post';

/**
 * Strings only A's feed carries. An answer to B that holds any of them (other than what B itself typed)
 * leaks A's feed. Compared case-insensitively, on text with Discord's markdown escapes removed.
 */
const LEAK_MARKERS = ['zebrine', FEED_TITLE.toLowerCase(), 'acme.rss', 'acme.example', TOKEN.toLowerCase(), PASSWORD];

const day = (iso: string) => new Date(iso).toUTCString();

function rss(title: string, site: string, items: Array<{ slug: string; title: string; html: string; date: string }>): string {
  const body = items
    .map((i) => `<item><title><![CDATA[${i.title}]]></title><link>${site}/p/${i.slug}</link><guid isPermaLink="false">${site}/p/${i.slug}</guid><pubDate>${day(i.date)}</pubDate><description><![CDATA[${i.title}]]></description><content:encoded><![CDATA[${i.html}]]></content:encoded></item>`)
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title><![CDATA[${title}]]></title><link>${site}</link><description>d</description>${body}</channel></rss>`;
}

const PRIVATE_POST = {
  slug: 'zebrine', title: TITLE, date: '2026-01-08T09:00:00Z',
  html: `<p>The ${DISTINCTIVE} trick routes tokens through sparse lattices.</p><p>Paper: <a href="https://arxiv.org/abs/${ARXIV_ID}">Zebrine Lattice Networks for Sparse Routing</a></p>`,
};
const PRIVATE_NEW_POST = {
  slug: 'zebrine-two', title: 'Zebrine lattices, part two', date: '2026-01-10T11:00:00Z',
  html: `<p>More on ${DISTINCTIVE} routing and how the lattices scale.</p>`,
};

/** The shared world of one mode and store: the feed host, the database, the wired core. */
export interface World {
  feeds: FeedServer;
  store: Store;
  core: Core;
  clock: ReturnType<typeof createManualClock>;
  /** The configured (everyone's) feed. */
  openUrl: string;
  /** A's private feed, with its credentials: user and password, and a token in the query. */
  privateUrl: string;
  /** Serves the next version of A's private feed (a new post that alerts look at). */
  publishSecondPost(): void;
}

export async function startWorld(backend: StoreBackend): Promise<World> {
  const feeds = await startFeedServer();
  const clock = createManualClock(new Date('2026-01-10T12:00:00Z'));
  const openUrl = feeds.url('/open.rss');
  feeds.serveFeed('/open.rss', rss(OPEN_TITLE, 'https://open.example', [{ slug: 'hollowmere', title: OPEN_POST, date: '2026-01-05T09:00:00Z', html: '<p>Hollowmere sampling for everyone.</p>' }]));
  let privateBody = rss(FEED_TITLE, 'https://acme.example', [PRIVATE_POST]);
  const expected = `Basic ${Buffer.from(`reader:${PASSWORD}`).toString('base64')}`;
  // A paid feed: without the right credentials and token, 401 (as a private Substack feed refuses).
  feeds.route('/private/acme.rss', (req: IncomingMessage, res: ServerResponse) => {
    const token = new URL(req.url ?? '/', 'http://x').searchParams.get('token');
    if (req.headers.authorization !== expected || token !== TOKEN) return void res.writeHead(401, { 'content-type': 'text/plain' }).end('unauthorized');
    res.writeHead(200, { 'content-type': 'application/rss+xml; charset=utf-8' }).end(privateBody);
  });
  const privateUrl = `http://reader:${PASSWORD}@127.0.0.1:${new URL(feeds.origin).port}/private/acme.rss?token=${TOKEN}`;
  const store = await backend.open({ clock });
  const config = loadConfig({
    FEED_URLS: openUrl, ALLOW_ANY_FEED: 'true', ALLOW_PRIVATE_FEEDS: 'true', DELIVERY_RETRY_BASE_SECONDS: '1',
    // B's member runs more searches in a row here than a person would; the command rates have their own tests.
    COMMAND_RATE_MEMBER: 'off', COMMAND_RATE_SEARCH: 'off', COMMAND_RATE_SERVER: 'off', COMMAND_RATE_AUTOCOMPLETE: 'off',
  });
  const core = buildCore({ config, store, fetch: globalThis.fetch, clock, logger: createSilentLogger(), commands: ALL_COMMANDS });
  expect((await core.pollFeed(openUrl)).status).toBe('ok');
  return {
    feeds, store, core, clock, openUrl, privateUrl,
    publishSecondPost: () => void (privateBody = rss(FEED_TITLE, 'https://acme.example', [PRIVATE_NEW_POST, PRIVATE_POST])),
  };
}

/** Every string inside an answer (content, embeds, blocks, buttons), for a driver to join into one text. */
export function textsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(textsOf);
  if (value && typeof value === 'object') return Object.values(value).flatMap(textsOf);
  return [];
}

/** Text as a person reads it: Discord's markdown escapes removed, lower-cased. */
const readable = (text: string) => text.replace(/\\/g, '').toLowerCase();

/** What of A's feed an answer shows, leaving out what the asker typed themselves (a query echoed back). */
export function leaksOf(answer: string, typed = ''): string[] {
  const said = readable(answer);
  const own = readable(typed);
  return LEAK_MARKERS.filter((marker) => said.includes(marker) && !own.includes(marker));
}

export interface MatrixOptions {
  /** The platform name in the store (`discord`, `slack`). */
  platform: 'discord' | 'slack';
  /** Starts the mode's fake and real adapter over the world's core. */
  startDriver(world: World): Promise<TenantDriver>;
}

/** The whole matrix for one mode, on SQLite and on PostgreSQL. */
export function describeTenantMatrix(mode: string, options: MatrixOptions) {
  describe.each(STORE_BACKENDS)(`tenant isolation, ${mode}, on %s`, (_name, makeBackend, skip) => {
    let backend: StoreBackend;
    let world: World;
    let driver: TenantDriver;
    let subscriptionOfA: number;
    let redacted: string;

    /** Everything B's attempts must leave as it was: subscriptions of A and B and the DM, alerts, deliveries, feeds. */
    const snapshot = async () => {
      const { store } = world;
      const feeds = (await store.feeds.list()).map((f) => [f.id, f.url, f.addedBy, f.subscriptionCount]).sort();
      const subscriptions = await Promise.all([driver.workspaces.A, driver.workspaces.B].map((ws) => store.subscriptions.listForWorkspace(options.platform, ws)));
      const deliveries = await store.deliveries.list({ limit: 1000 });
      return JSON.stringify({ feeds, subscriptions, deliveries });
    };

    beforeAll(async () => {
      if (skip) return;
      backend = makeBackend();
      world = await startWorld(backend);
      driver = await options.startDriver(world);
      // A's manager adds the private feed from chat; B's manager subscribes to the configured feed.
      const added = await driver.run('A-manager', 'subscribe', { feed: world.privateUrl });
      expect(added).toMatch(/Subscribed/);
      expect(leaksOf(added).filter((m) => m === TOKEN.toLowerCase() || m === PASSWORD)).toEqual([]); // shown redacted
      redacted = redactUrl(world.privateUrl);
      expect(readable(added)).toContain(redacted.toLowerCase()); // the spelling Inkwire displayed in A
      const [mine] = await world.store.subscriptions.listForWorkspace(options.platform, driver.workspaces.A);
      subscriptionOfA = mine!.id;
      expect((await pollFeedOfA()).status).toBe('ok');
      expect(await driver.run('B-manager', 'subscribe', {})).toMatch(/Subscribed/);
    });
    afterAll(async () => {
      await driver?.stop();
      await world?.feeds.close();
      await world?.core.closeParser();
      await backend?.cleanup();
    });

    /** Polls the feed A's subscription reads: A's own row of the private URL (ADR 005), not a shared one. */
    const pollFeedOfA = async () => {
      const feedId = (await world.store.subscriptions.get(subscriptionOfA))!.feedId;
      const feed = (await world.store.feeds.list()).find((f) => f.id === feedId)!;
      return world.core.pollFeed(feed.url, { ownerKey: feed.ownerKey });
    };

    /** Runs B's attempts and checks that none shows anything of A and that the store did not change. */
    const expectNothingOfA = async (attempts: Array<{ who: Who; answer: () => Promise<string>; typed?: string; expect?: RegExp }>) => {
      const before = await snapshot();
      const subscriptionsOfB = async () => (await world.store.subscriptions.listForWorkspace(options.platform, driver.workspaces.B)).map((s) => s.id);
      const keptOfB = new Set(await subscriptionsOfB());
      const failures: string[] = [];
      try {
        for (const attempt of attempts) {
          const answer = await attempt.answer();
          const leaks = leaksOf(answer, attempt.typed);
          if (leaks.length > 0) failures.push(`${attempt.who} saw ${leaks.join(', ')} in: ${answer.slice(0, 300)}`);
          if (attempt.expect && !attempt.expect.test(answer)) failures.push(`${attempt.who} expected ${attempt.expect} in: ${answer.slice(0, 300)}`);
        }
        expect(failures).toEqual([]);
        expect(await snapshot()).toBe(before);
        expect(driver.violations()).toEqual([]);
      } finally {
        // Where an attempt got through (the code before issue 19), undo it: each case is judged on its own.
        await world.store.subscriptions.delete((await subscriptionsOfB()).filter((id) => !keptOfB.has(id)));
      }
    };

    it.skipIf(skip)('GIVEN A\'s own private feed THEN A finds it in /search (word and paper), /latest, /subscriptions and the share button (the positive control)', async () => {
      for (const who of ['A-manager', 'A-member'] as const) {
        expect(leaksOf(await driver.run(who, 'search', { query: DISTINCTIVE }), DISTINCTIVE), `${who} /search`).toContain('zebrine');
        expect(leaksOf(await driver.run(who, 'search', { query: `arxiv:${ARXIV_ID}` })), `${who} /search arXiv`).toContain('zebrine');
        expect(leaksOf(await driver.run(who, 'latest', { count: 10 })), `${who} /latest`).toContain('zebrine');
        expect(leaksOf(await driver.run(who, 'subscriptions')), `${who} /subscriptions`).toContain(FEED_TITLE.toLowerCase());
      }
      if (driver.shareRunsSearch) expect(leaksOf(await driver.press('A-member', `share:5:1:${DISTINCTIVE}`), DISTINCTIVE)).toContain('zebrine');
      if (driver.autocomplete) expect(leaksOf((await driver.autocomplete('A-member', 'search', 'query', 'zebr')).join('\n'), 'zebr')).toContain('zebrine');
      // B sees the configured feed (so "nothing of A" below is not "nothing at all").
      expect(await driver.run('B-member', 'latest', { count: 10 })).toContain(OPEN_POST);
      expect(await driver.run('DM', 'search', { query: 'hollowmere' })).toContain(OPEN_POST);
    });

    it.skipIf(skip)('GIVEN the feeds each tenant may see, as the store scopes them THEN A\'s feed is A\'s alone; B and a direct message see the configured one', async () => {
      const feedOfA = (await world.store.subscriptions.get(subscriptionOfA))!.feedId;
      const configured = (await world.store.feeds.get(world.openUrl))!.id;
      const visible = async (workspaceId: string | null) => (await world.store.feeds.listVisible(workspaceId ? { platform: options.platform, workspaceId } : null)).map((f) => f.id);
      expect(await visible(driver.workspaces.A)).toEqual(expect.arrayContaining([feedOfA, configured]));
      expect(await visible(driver.workspaces.B)).toEqual([configured]);
      expect(await visible(null)).toEqual([configured]);
    });

    it.skipIf(skip)('GIVEN B (manager, member, direct message) THEN /subscribe by a word of A\'s feed title is refused and subscribes nothing', async () => {
      await expectNothingOfA([
        { who: 'B-manager', answer: () => driver.run('B-manager', 'subscribe', { feed: 'acme' }), typed: 'acme', expect: /No feed called/ },
        { who: 'B-manager', answer: () => driver.run('B-manager', 'subscribe', { feed: FEED_TITLE }), typed: FEED_TITLE, expect: /No feed called/ },
        { who: 'B-member', answer: () => driver.run('B-member', 'subscribe', { feed: 'acme' }), typed: 'acme', expect: /Only people who can manage/ },
        { who: 'DM', answer: () => driver.run('DM', 'subscribe', { feed: 'acme' }), typed: 'acme', expect: /from inside that channel|Only people who can manage/ },
      ]);
    });

    it.skipIf(skip)('GIVEN B THEN /subscribe by the redacted URL Inkwire displayed in A is refused and subscribes nothing', async () => {
      await expectNothingOfA([
        { who: 'B-manager', answer: () => driver.run('B-manager', 'subscribe', { feed: redacted }), typed: redacted, expect: /^(?![\s\S]*Subscribed)/ },
        { who: 'B-manager', answer: () => driver.run('B-manager', 'subscribe', { feed: redacted.replace('?token=***', '') }), typed: redacted, expect: /^(?![\s\S]*Subscribed)/ },
        { who: 'B-member', answer: () => driver.run('B-member', 'subscribe', { feed: redacted }), typed: redacted, expect: /Only people who can manage/ },
        { who: 'DM', answer: () => driver.run('DM', 'subscribe', { feed: redacted }), typed: redacted, expect: /from inside that channel|Only people who can manage/ },
      ]);
    });

    it.skipIf(skip)('GIVEN B THEN /subscribe to an unknown name lists the available feeds without A\'s', async () => {
      await expectNothingOfA([
        { who: 'B-manager', answer: () => driver.run('B-manager', 'subscribe', { feed: 'nosuchfeedname' }), typed: 'nosuchfeedname', expect: new RegExp(`No feed called[\\s\\S]*${OPEN_TITLE}`) },
      ]);
    });

    it.skipIf(skip)('GIVEN B THEN /search for A\'s word and for the paper A\'s post explains finds nothing of A, privately or shared', async () => {
      const attempts = (['B-manager', 'B-member', 'DM'] as const).flatMap((who) => [
        { who, answer: () => driver.run(who, 'search', { query: DISTINCTIVE }), typed: DISTINCTIVE, expect: /No explainer matches/ },
        { who, answer: () => driver.run(who, 'search', { query: `arxiv:${ARXIV_ID}` }), typed: ARXIV_ID },
        { who, answer: () => driver.run(who, 'search', { query: `https://arxiv.org/abs/${ARXIV_ID}` }), typed: ARXIV_ID },
        { who, answer: () => driver.run(who, 'search', { query: 'lattices sparse routing' }), typed: 'lattices sparse routing' },
      ]);
      await expectNothingOfA(attempts);
    });

    it.skipIf(skip)('GIVEN B THEN /latest and /subscriptions show nothing of A', async () => {
      await expectNothingOfA((['B-manager', 'B-member', 'DM'] as const).flatMap((who) => [
        { who, answer: () => driver.run(who, 'latest', { count: 10 }) },
        { who, answer: () => driver.run(who, 'subscriptions') },
      ]));
    });

    // Slack slash commands have no autocomplete: there the case does not exist, so it is not defined.
    if (options.platform !== 'slack') it.skipIf(skip)('GIVEN B THEN autocomplete (search query, subscribe feed, unsubscribe feed) offers nothing of A', async () => {
      const complete = driver.autocomplete!;
      const attempts = (['B-manager', 'B-member', 'DM'] as const).flatMap((who) => [
        ...['zebr', DISTINCTIVE.slice(0, 5), 'lattice'].map((partial) => ({ who, answer: async () => (await complete(who, 'search', 'query', partial)).join('\n'), typed: partial })),
        ...['acme', '', 'private', '127.0.0.1'].map((partial) => ({ who, answer: async () => (await complete(who, 'subscribe', 'feed', partial)).join('\n'), typed: partial })),
        ...['acme', ''].map((partial) => ({ who, answer: async () => (await complete(who, 'unsubscribe', 'feed', partial)).join('\n'), typed: partial })),
      ]);
      await expectNothingOfA(attempts);
    });

    it.skipIf(skip)('GIVEN B THEN /unsubscribe naming A\'s feed (word, title, redacted URL, full URL) is refused and removes nothing', async () => {
      const names = ['acme', FEED_TITLE, redacted, world?.privateUrl ?? ''];
      await expectNothingOfA([
        ...names.map((feed) => ({ who: 'B-manager' as const, answer: () => driver.run('B-manager', 'unsubscribe', { feed }), typed: feed, expect: /not subscribed|no subscriptions/i })),
        { who: 'B-member', answer: () => driver.run('B-member', 'unsubscribe', { feed: 'acme' }), typed: 'acme', expect: /Only people who can manage/ },
        { who: 'DM', answer: () => driver.run('DM', 'unsubscribe', { feed: 'acme' }), typed: 'acme' },
      ]);
      expect(await world.store.subscriptions.get(subscriptionOfA)).not.toBeNull();
    });

    it.skipIf(skip)('GIVEN A\'s full URL typed in B (unsubscribe, search) THEN no answer repeats its password or token, not even to the one who typed it', async () => {
      const secrets = [PASSWORD, TOKEN.toLowerCase()];
      const answers = [
        await driver.run('B-manager', 'unsubscribe', { feed: world.privateUrl }),
        await driver.run('B-member', 'search', { query: world.privateUrl }),
        await driver.run('DM', 'search', { query: world.privateUrl }),
      ];
      expect(answers.map((answer) => secrets.filter((secret) => readable(answer).includes(secret)))).toEqual([[], [], []]);
    });

    it.skipIf(skip)('GIVEN button ids from A replayed in B or a direct message THEN refused, nothing queued, nothing of A shown', async () => {
      const latest = `sub:latest:${subscriptionOfA}`;
      await expectNothingOfA([
        { who: 'B-manager', answer: () => driver.press('B-manager', latest), expect: /no longer matches a subscription in this channel/ },
        { who: 'B-member', answer: () => driver.press('B-member', latest), expect: /no longer matches|Only people who can manage/ },
        { who: 'DM', answer: () => driver.press('DM', latest), expect: /no longer matches|Only people who can manage/ },
        ...(['B-manager', 'B-member', 'DM'] as const).map((who) => ({ who, answer: () => driver.press(who, `share:5:1:${DISTINCTIVE}`), typed: DISTINCTIVE })),
        ...(['B-member', 'DM'] as const).map((who) => ({ who, answer: () => driver.press(who, `share:5:1:arxiv:${ARXIV_ID}`), typed: ARXIV_ID })),
      ]);
    });

    it.skipIf(skip)('GIVEN alerts for A\'s words from B (in B and in a direct message) and from A THEN a new post in A\'s feed reaches A\'s member only', async () => {
      expect(await driver.run('A-member', 'alerts', { action: 'add', keywords: DISTINCTIVE })).toMatch(/Alert added/);
      expect(await driver.run('B-member', 'alerts', { action: 'add', keywords: DISTINCTIVE })).toMatch(/Alert added/);
      expect(await driver.run('DM', 'alerts', { action: 'add', keywords: 'zebrine' })).toMatch(/Alert added/);
      world.publishSecondPost();
      world.clock.advance(60_000);
      const polled = await pollFeedOfA();
      expect(polled.status === 'ok' && polled.announced.map((p) => p.title)).toEqual(['Zebrine lattices, part two']);
      await world.core.deliveryEngine(driver.platform).drain();
      expect(driver.directMessagesTo('A-member').join('\n')).toMatch(/Zebrine lattices, part two/);
      expect(driver.directMessagesTo('B-member')).toEqual([]);
      expect(driver.violations()).toEqual([]);
    });

    it.skipIf(skip)('GIVEN B\'s manager subscribes with A\'s full URL, credentials included THEN B gets a feed of its own, and A\'s subscription and feed are untouched', async () => {
      const feedOfA = (await world.store.subscriptions.get(subscriptionOfA))!.feedId;
      const aBefore = JSON.stringify(await world.store.subscriptions.listForWorkspace(options.platform, driver.workspaces.A));
      const answer = await driver.run('B-manager', 'subscribe', { feed: world.privateUrl });
      expect(answer).toMatch(/Subscribed/);
      expect(leaksOf(answer, world.privateUrl)).toEqual([]); // not A's title: B's own feed is not polled yet
      const ofB = (await world.store.subscriptions.listForWorkspace(options.platform, driver.workspaces.B)).filter((s) => s.feedId !== null && s.feedUrl === world.privateUrl);
      expect(ofB).toHaveLength(1);
      expect(ofB[0]!.feedId).not.toBe(feedOfA);
      expect(JSON.stringify(await world.store.subscriptions.listForWorkspace(options.platform, driver.workspaces.A))).toBe(aBefore);
      expect(driver.violations()).toEqual([]);
    });
  });
}
