import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/clock.ts';
import { UserError } from '../../src/errors.ts';
import { createSubscriptionService, type FeedProbe } from '../../src/delivery/subscription-service.ts';
import { isBlockedAddress, createPublicAddressGuard } from '../../src/feeds/feed-url-guard.ts';
import { parseKeywords, createKeywordMatcher } from '../../src/delivery/keyword-filter.ts';
import { parseMention } from '../../src/delivery/mention.ts';
import { digestPeriod } from '../../src/delivery/digest-scheduler.ts';
import { err, ok } from '../../src/result.ts';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import type { Store } from '../../src/storage/store.ts';
import { admin, channel } from '../fakes/core-fixture.ts';

describe('adding a feed that is not configured (ALLOW_ANY_FEED=true)', () => {
  let store: Store;
  const probed: string[] = [];
  const clock = createManualClock(new Date('2024-01-01T00:00:00Z'));
  const service = (probe: FeedProbe) =>
    createSubscriptionService({
      subscriptions: store.subscriptions, feeds: store.feeds, posts: store.posts, deliveries: store.deliveries, clock,
      limits: { perChannel: 10, perWorkspace: 100, alertsPerUser: 5 },
      configuredFeeds: ['https://dailyink.substack.com/feed'], allowAnyFeed: true, probeFeed: probe,
    });

  beforeEach(() => {
    store = openSqliteStore(':memory:');
    probed.length = 0;
  });
  afterEach(async () => store.close());

  it('GIVEN a URL that parses as a feed THEN it is stored as user-added and subscribed', async () => {
    const result = await service(async (url) => (probed.push(url), ok({ title: 'Lab notes' })))
      .subscribe(channel('general'), admin, { feed: 'https://lab.example/rss.xml' });
    expect(result.ok).toBe(true);
    expect(probed).toEqual(['https://lab.example/rss.xml']);
    const feed = await store.feeds.get('https://lab.example/rss.xml');
    expect(feed?.addedBy).toBe('console:ws1'); // polled later only through the public-address guard
  });

  it('GIVEN a URL that is not a feed THEN the probe reason is shown and nothing is stored', async () => {
    const result = await service(async () => err(new UserError('subscribe/not-a-feed', 'That URL is not a usable feed: the XML is neither RSS nor Atom.')))
      .subscribe(channel('general'), admin, { feed: 'https://lab.example/page.html' });
    expect(!result.ok && result.error.message).toMatch(/neither RSS nor Atom/);
    expect(await store.feeds.get('https://lab.example/page.html')).toBeNull();
  });
});

describe('delivery input rules', () => {
  it.each([
    ['127.0.0.1', true], ['10.1.2.3', true], ['172.20.0.1', true], ['192.168.1.1', true], ['169.254.169.254', true],
    ['100.64.0.1', true], ['::1', true], ['fd00::1', true], ['fe80::1', true], ['::ffff:127.0.0.1', true], ['0.0.0.0', true],
    ['93.184.216.34', false], ['2606:4700::6810:85e5', false],
  ])('GIVEN %s THEN blocked is %s', (address, blocked) => {
    expect(isBlockedAddress(address)).toBe(blocked);
  });

  it('GIVEN a host that resolves to a private address THEN the guard refuses it (DNS is injected)', async () => {
    const guard = createPublicAddressGuard(async (host) => (host === 'sneaky.example' ? ['10.0.0.7'] : ['93.184.216.34']));
    expect(await guard.checkUrl(new URL('https://sneaky.example/feed'))).toMatch(/private or reserved/);
    expect(await guard.checkUrl(new URL('https://fine.example/feed'))).toBeNull();
    expect(await guard.checkUrl(new URL('http://localhost:8080/feed'))).toMatch(/local address/);
  });

  it('GIVEN keyword text THEN commas make phrases, quotes group words, and matching ignores case and accents', () => {
    expect(parseKeywords('Diffusion, reward model')).toEqual({ ok: true, value: ['diffusion', 'reward model'] });
    expect(parseKeywords('diffusion "reward model" RLHF')).toEqual({ ok: true, value: ['diffusion', 'reward model', 'rlhf'] });
    const matcher = createKeywordMatcher({ title: 'Réseaux de neurones', subtitle: null, text: 'A Reward-Model story' });
    expect(matcher.matches(['reseaux'])).toBe(true);
    expect(matcher.matches(['reward model'])).toBe(true);
    expect(matcher.matches(['rewar'])).toBe(false); // whole words only
  });

  it.each([
    ['discord', '<@&123456789012345678>', '123456789012345678'],
    ['discord', '123456789012345678', '123456789012345678'],
    ['slack', '<!subteam^S0123ABCD|@ml>', 'S0123ABCD'],
    ['console', '@readers', 'readers'],
  ] as const)('GIVEN a %s mention %s THEN the id is %s', (platform, input, id) => {
    expect(parseMention(platform, input)).toEqual({ ok: true, value: id });
  });

  it.each(['@everyone', 'here', '<!channel>', '@here'])('GIVEN %s THEN the mention is refused', (input) => {
    const result = parseMention('discord', input);
    expect(!result.ok && result.error.identifier).toBe('mention/too-broad');
  });

  it('GIVEN a time zone THEN digest periods follow its calendar (day and ISO week)', () => {
    const at = new Date('2024-03-10T23:30:00Z'); // Sunday in UTC, Monday in Tokyo
    expect(digestPeriod('daily', at, 'UTC')).toBe('2024-03-10');
    expect(digestPeriod('daily', at, 'Asia/Tokyo')).toBe('2024-03-11');
    expect(digestPeriod('weekly', at, 'UTC')).toBe('2024-W10');
    expect(digestPeriod('weekly', at, 'Asia/Tokyo')).toBe('2024-W11');
  });
});
