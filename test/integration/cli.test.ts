import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, refusedUrl, startFeedServer, type FeedServer } from '../fakes/feed-server.ts';
import { runInkwire } from '../fakes/cli-process.ts';
import { makeTempDir } from '../fakes/temp-dir.ts';

describe('the inkwire CLI', () => {
  let server: FeedServer;
  let dir: ReturnType<typeof makeTempDir>;
  let env: Record<string, string>;

  beforeAll(async () => {
    server = await startFeedServer();
    server.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    server.route('/broken', (_q, r) => void r.writeHead(200, { 'content-type': 'text/html' }).end(fixture('not-a-feed-cloudflare.html')));
    dir = makeTempDir();
    env = { FEED_URLS: server.url('/feed'), DATABASE_URL: dir.file('cli.db') };
  });
  afterAll(async () => {
    await server.close();
    dir.remove();
  });

  it('GIVEN a database path that cannot be opened THEN one line naming the path and a fix, exit 1, never a stack trace or a hang', async () => {
    const notADb = dir.file('not-a-db.db');
    writeFileSync(notADb, 'plain text, not SQLite');
    const cases: Array<[string, RegExp]> = [
      ['/proc/inkwire-test/inkwire.db', /\/proc\/inkwire-test is a virtual file system/],
      [`${notADb}/x.db`, /is a file, not a folder/],
      [notADb, /file is not a database/],
    ];
    for (const [path, reason] of cases) {
      const result = await runInkwire(['posts'], { ...env, DATABASE_URL: path });
      expect(result.code, path).toBe(1);
      expect(result.stderr).toContain(`inkwire: cannot open the database ${path}:`);
      expect(result.stderr).toMatch(reason);
      expect(result.stderr).toMatch(/fix: set DATABASE_URL/);
      expect(result.stderr).not.toMatch(/\n\s+at |"stack"/);
    }
    const doctor = await runInkwire(['doctor'], { ...env, DATABASE_URL: '/proc/inkwire-test/inkwire.db' });
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toMatch(/✗ database: cannot open the database \/proc\/inkwire-test\/inkwire.db/);
    expect(doctor.stdout).toMatch(/✓ feed .* is reachable/);
  });

  it('GIVEN backfill of a feed that cannot be reached THEN exit 1 with the reason, not "not a Substack publication"', async () => {
    const unreachable = await refusedUrl('/feed');
    const result = await runInkwire(['backfill', '--feed', unreachable], { ...env, DATABASE_URL: dir.file('backfill-unreachable.db') });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cannot read the feed, so cannot tell whether it is a Substack publication: \[feed\/fetch-failed\]/);
    expect(result.stdout).not.toMatch(/not a Substack publication/);
  });

  it('GIVEN poll --once THEN stores the feed, prints a summary and exits 0', async () => {
    const result = await runInkwire(['poll', '--once'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`${server.url('/feed')}: 6 item(s); 6 new (first sight: stored as already seen), 0 announced`);
  });

  it('GIVEN posts --json THEN prints the documented fields, newest first', async () => {
    const result = await runInkwire(['posts', '--json', '--limit', '3'], env);
    expect(result.code).toBe(0);
    const posts = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    expect(posts).toHaveLength(3);
    for (const key of ['id', 'feedUrl', 'title', 'url', 'author', 'publishedAt', 'subtitle', 'tldr', 'previewOnly']) {
      expect(posts[0]).toHaveProperty(key);
    }
    expect(posts[0]!.title).toBe('LoRA: Fine-Tuning Giant Models by Training Tiny Matrices');
    expect(posts[0]!.publishedAt).toBe('2023-03-08T16:00:00.000Z');
    expect(posts[0]!.previewOnly).toBe(true);
  });

  it('GIVEN a failing feed THEN poll exits 1 with the reason and feeds shows its health', async () => {
    const broken = { ...env, FEED_URLS: `${server.url('/feed')},${server.url('/broken')}` };
    const poll = await runInkwire(['poll', '--once', '--feed', server.url('/broken')], broken);
    expect(poll.code).toBe(1);
    expect(poll.stdout).toMatch(/FAILED \[feed\/not-a-feed\] the server returned an HTML page \("Just a moment..."\)/);
    const feeds = await runInkwire(['feeds', '--json'], broken);
    const health = JSON.parse(feeds.stdout) as Array<Record<string, unknown>>;
    expect(health.find((f) => f.url === server.url('/broken'))).toMatchObject({
      status: 'failing',
      consecutiveFailures: 1,
      lastErrorCode: 'feed/not-a-feed',
    });
    expect(health.find((f) => f.url === server.url('/feed'))).toMatchObject({ status: 'ok', posts: 6 });
    const text = await runInkwire(['feeds'], broken);
    expect(text.stdout).toContain('status: failing — 1 consecutive failure(s)');
  });

  it('GIVEN --db THEN it overrides DATABASE_URL', async () => {
    const other = makeTempDir();
    const result = await runInkwire(['posts', '--db', other.file('other.db')], env);
    expect(result.stdout).toContain('No posts stored yet');
    other.remove();
  });

  it.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['posts', '--limit', 'many'], /--limit must be a whole number/],
    [['posts', '--colour'], /Unknown option '--colour'/],
    [['feeds', '--once'], /"--once" does not apply to "feeds"/],
    [['poll', '--feed', 'file:///etc/passwd'], /--feed needs an http\(s\) URL/],
  ])('GIVEN %j THEN prints usage and exits 2', async (args, message) => {
    const result = await runInkwire(args, env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('Usage: inkwire <command>');
  });

  it('GIVEN bad configuration THEN exits 1 naming every bad key', async () => {
    const result = await runInkwire(['posts'], { ...env, POLL_CRON: 'nope', FEED_MAX_BYTES: 'lots' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/POLL_CRON[\s\S]*FEED_MAX_BYTES|FEED_MAX_BYTES[\s\S]*POLL_CRON/);
  });

  it('GIVEN a postgres:// DATABASE_URL THEN says clearly that it is not available yet', async () => {
    const result = await runInkwire(['posts'], { ...env, DATABASE_URL: 'postgres://localhost/inkwire' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('PostgreSQL');
  });

  it('GIVEN doctor THEN reports each check and what to fix', async () => {
    const ok = await runInkwire(['doctor'], env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`✓ feed ${server.url('/feed')} is reachable: 6 item(s)`);
    const bad = await runInkwire(['doctor'], { ...env, FEED_URLS: await refusedUrl() });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/✗ feed .*ECONNREFUSED[\s\S]*fix: check the URL/);
  });
});
