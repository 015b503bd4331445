// @ts-expect-error -- the package ships no type declarations
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { cleanupsAfterEach } from '../fakes/cleanups.ts';
import { spawnInkwire } from '../fakes/cli-process.ts';
import { startFeedServer } from '../fakes/feed-server.ts';
import { freePort } from '../fakes/free-port.ts';
import { makeTempDir } from '../fakes/temp-dir.ts';

const item = (slug: string, title: string, date: string) => {
  const link = `https://signals.substack.com/p/${slug}`;
  return `<item><title>${title}</title><link>${link}</link><guid isPermaLink="false">${link}</guid><pubDate>${new Date(date).toUTCString()}</pubDate><content:encoded><![CDATA[<p>${title}</p>]]></content:encoded></item>`;
};

describe('an item the store refuses, seen by an operator', () => {
  const dir = makeTempDir();
  const cleanups = cleanupsAfterEach();

  it('GIVEN a running bot whose database refuses one item THEN the rest is stored, and /readyz, /metrics and `inkwire feeds` name the feed', async () => {
    const path = dir.file('signals.db');
    // The database refuses one row, as a real one can (here a trigger stands in for any one-row refusal).
    const prepared = openSqliteStore(path);
    prepared.db.exec(`CREATE TRIGGER refuse_poison BEFORE INSERT ON posts WHEN NEW.title LIKE '%poison%' BEGIN SELECT RAISE(ABORT, 'poison item refused'); END;`);
    await prepared.close();
    const feeds = await startFeedServer();
    cleanups.push(() => feeds.close());
    feeds.serveFeed('/feed', `<?xml version="1.0" encoding="UTF-8"?><rss xmlns:content="http://purl.org/rss/1.0/modules/content/" version="2.0"><channel><title>Signals</title><link>https://signals.substack.com</link>${
      item('good', 'A good post', '2026-03-01T09:00:00Z') + item('bad', 'A poison post', '2026-03-02T09:00:00Z') + item('fine', 'A fine post', '2026-03-03T09:00:00Z')
    }</channel></rss>`);
    const port = await freePort();
    const env = { FEED_URLS: feeds.url('/feed'), DATABASE_URL: path };
    const bot = spawnInkwire(['start'], { ...env, POLL_JITTER_SECONDS: '0', HTTP_PORT: String(port) });
    cleanups.push(() => void bot.child.kill('SIGKILL'));
    await bot.waitFor(/an item could not be stored; skipped/, { stream: 'stderr' });
    await bot.waitFor(/feed seen for the first time/, { stream: 'stderr' });
    const base = `http://127.0.0.1:${port}`;

    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toMatch(/FAIL feeds store every item: http:\/\/127\.0\.0\.1:\d+\/feed \(1 item\(s\) not stored\)/);
    const families = parsePrometheusTextFormat(await (await fetch(`${base}/metrics`)).text()) as Array<{ name: string; metrics: Array<{ labels?: Record<string, string>; value?: string }> }>;
    const notStored = families.find((f) => f.name === 'inkwire_feed_items_not_stored_total');
    expect(notStored?.metrics).toEqual([expect.objectContaining({ labels: expect.objectContaining({ feed_id: expect.stringMatching(/^\d+$/), feed_host: new URL(feeds.origin).host }), value: '1' })]);
    expect(families.find((f) => f.name === 'inkwire_posts_stored_total')?.metrics[0]?.value).toBe('2');
    bot.child.kill('SIGTERM');
    expect(await bot.exit()).toBe(0);

    const listed = spawnInkwire(['feeds', '--json'], env);
    expect(await listed.exit()).toBe(0);
    expect(JSON.parse(listed.stdout())).toEqual([expect.objectContaining({ status: 'degraded', posts: 2, itemsNotStored: 1, itemsNotStoredError: expect.stringContaining('"A poison post"') })]);
  });
});
