import { Writable } from 'node:stream';
import { fetch as undiciFetch } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/clock.ts';
import { formatFeeds, feedToJson } from '../../src/cli/cli-output.ts';
import { createFeedFetcher } from '../../src/feeds/feed-fetcher.ts';
import { createFeedPoller } from '../../src/feeds/feed-poller.ts';
import { createPublicAddressGuard } from '../../src/feeds/feed-url-guard.ts';
import { redactUrl } from '../../src/feeds/url-secrets.ts';
import { createLogger } from '../../src/logger.ts';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { fixture, startFeedServer, type FeedServer } from '../fakes/feed-server.ts';

const fetcherOptions = { userAgent: 'Inkwire-test', timeoutMs: 2000, maxBytes: 1 << 20, maxRedirects: 3 };

describe('user-added feeds cannot reach private networks, even by DNS rebinding', () => {
  let server: FeedServer;
  beforeEach(async () => {
    server = await startFeedServer();
    server.serveFeed('/admin', fixture('dailyink-feed-v1.xml')); // an internal page that happens to parse
  });
  afterEach(async () => server.close());

  it('GIVEN a host that resolves to a public address for the check and to 127.0.0.1 for the connection THEN the connection is refused and nothing reaches the internal server', async () => {
    const port = new URL(server.origin).port;
    let calls = 0;
    // The rebinding resolver: the first answer (the check) is public, every later one is loopback. Only
    // the injected resolver is ever asked, so no public address is ever connected to.
    const guard = createPublicAddressGuard(async () => (calls++ === 0 ? ['93.184.216.34'] : ['127.0.0.1']));
    const fetchFeed = createFeedFetcher({
      ...fetcherOptions,
      fetch: undiciFetch as unknown as typeof fetch,
      guardUrl: guard.checkUrl,
      untrustedDispatcher: guard.dispatcher,
    });
    const outcome = await fetchFeed({ url: `http://rebind.example:${port}/admin`, untrusted: true });
    expect(outcome.kind).toBe('failed');
    expect(outcome.kind === 'failed' && outcome.error.code).toBe('feed/blocked-address');
    expect(calls).toBe(2); // checked, then resolved again at connect time — and refused there
    expect(server.requestsTo('/admin')).toHaveLength(0);
  });

  it('GIVEN odd spellings of private addresses THEN each is refused before any request', async () => {
    const guard = createPublicAddressGuard(async () => ['93.184.216.34']);
    for (const url of ['http://[::ffff:127.0.0.1]/', 'http://2130706433/', 'http://0x7f.1/', 'http://[::1]/', 'http://0.0.0.0/', 'http://169.254.169.254/latest/meta-data/', 'http://100.64.0.1/', 'http://224.0.0.1/', 'http://[fd00:ec2::254]/', 'http://metadata.google.internal/']) {
      expect(await guard.checkUrl(new URL(url)), url).not.toBeNull();
    }
  });
});

describe('credentials in feed URLs', () => {
  let server: FeedServer;
  const authorizations: Array<string | undefined> = [];
  beforeEach(async () => {
    server = await startFeedServer();
    authorizations.length = 0;
    server.route('/private', (req, res) => {
      authorizations.push(req.headers.authorization);
      if (req.headers.authorization !== `Basic ${Buffer.from('reader:s3cret').toString('base64')}`) return void res.writeHead(401).end();
      res.writeHead(200, { 'content-type': 'application/rss+xml' }).end(fixture('dailyink-feed-v1.xml'));
    });
  });
  afterEach(async () => server.close());

  it('GIVEN a feed behind HTTP Basic auth THEN it is fetched with an Authorization header, never sent to another host after a redirect', async () => {
    const fetchFeed = createFeedFetcher({ ...fetcherOptions, fetch: globalThis.fetch });
    const url = `http://reader:s3cret@127.0.0.1:${new URL(server.origin).port}/private`;
    const outcome = await fetchFeed({ url });
    expect(outcome.kind).toBe('fetched');
    // A second server, another origin, that the feed redirects to.
    const other = await startFeedServer();
    try {
      other.route('/moved', (req, res) => {
        authorizations.push(`other:${req.headers.authorization ?? 'none'}`);
        res.writeHead(200, { 'content-type': 'application/rss+xml' }).end(fixture('dailyink-feed-v1.xml'));
      });
      server.route('/redirect', (_req, res) => void res.writeHead(302, { location: other.url('/moved') }).end());
      const redirected = await fetchFeed({ url: `http://reader:s3cret@127.0.0.1:${new URL(server.origin).port}/redirect` });
      expect(redirected.kind).toBe('fetched');
      expect(authorizations).toEqual([`Basic ${Buffer.from('reader:s3cret').toString('base64')}`, 'other:none']);
    } finally {
      await other.close();
    }
  });

  it('GIVEN a feed URL with a password and a token THEN logs, `inkwire feeds` and the JSON show them redacted; the store keeps them', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString('utf8')), done()) });
    const logger = createLogger({ level: 'debug', pretty: false, destination: sink });
    const store = openSqliteStore(':memory:');
    const url = `http://reader:s3cret@127.0.0.1:${new URL(server.origin).port}/private?token=tok-123&page=2`;
    const poll = createFeedPoller({
      store, clock: createManualClock(new Date('2023-03-09T12:00:00Z')), logger, backoffBaseMs: 60_000, backoffMaxMs: 600_000,
      fetchFeed: createFeedFetcher({ ...fetcherOptions, fetch: globalThis.fetch }),
    });
    expect((await poll(url)).status).toBe('ok');
    logger.warn(`a message that mentions ${url}`);
    const [feed] = await store.feeds.list();
    expect(feed!.url).toBe(url); // stored as given: polling needs the credentials
    const shown = [lines.join(''), formatFeeds([feed!]), JSON.stringify(feedToJson(feed!))];
    for (const text of shown) {
      expect(text).not.toContain('s3cret');
      expect(text).not.toContain('tok-123');
    }
    expect(formatFeeds([feed!])).toContain(`http://***@127.0.0.1:${new URL(server.origin).port}/private?token=***&page=***`);
    await store.close();
  });

  it('GIVEN redactUrl THEN user info and every query value go, everything else stays (more in url-redaction.property.test.ts)', () => {
    expect(redactUrl('https://a:b@host.example/feed?key=1&utm_source=x')).toBe('https://***@host.example/feed?key=***&utm_source=***');
    expect(redactUrl('https://host.example/feed')).toBe('https://host.example/feed');
    expect(redactUrl('not a url')).toBe('not a url');
  });
});
