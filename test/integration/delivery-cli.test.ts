import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { fixture, startFeedServer, type FeedServer } from '../fakes/feed-server.ts';
import { runInkwire } from '../fakes/cli-process.ts';
import { makeTempDir } from '../fakes/temp-dir.ts';

describe('inkwire deliveries and inkwire why', () => {
  let server: FeedServer;
  let dir: ReturnType<typeof makeTempDir>;
  let env: Record<string, string>;

  beforeAll(async () => {
    server = await startFeedServer();
    server.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    dir = makeTempDir();
    env = { FEED_URLS: server.url('/feed'), DATABASE_URL: dir.file('d.db') };
    await runInkwire(['poll', '--once'], env); // first sight: stored as seen
    const store = openSqliteStore(dir.file('d.db'));
    const feed = (await store.feeds.get(server.url('/feed')))!;
    for (const [channelId, keywords] of [['general', []], ['filtered', ['diffusion']]] as const) {
      await store.subscriptions.create({
        kind: 'channel', platform: 'console', workspaceId: 'console', channelId, feedId: feed.id, keywords,
        mode: 'instant', mentionId: null, createdBy: 'test', createdAt: new Date('2023-03-09T00:00:00Z'),
      });
    }
    await store.close();
    server.serveFeed('/feed', fixture('dailyink-feed-v2.xml'));
    await runInkwire(['poll', '--once'], env);
  });
  afterAll(async () => {
    await server.close();
    dir.remove();
  });

  it('GIVEN a new post and two subscriptions THEN deliveries lists the pending row for the matching channel', async () => {
    const result = await runInkwire(['deliveries', '--status', 'pending'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/console:general {2}Mixture of Experts, Explained — pending, attempt 1 due/);
    expect(result.stdout).not.toContain('filtered');
    const json = JSON.parse((await runInkwire(['deliveries', '--json'], env)).stdout) as unknown[];
    expect(json).toHaveLength(1);
  });

  it('GIVEN why THEN explains pending, filtered and never-announced posts in words', async () => {
    const moe = 'https://dailyink.substack.com/p/mixture-of-experts-explained';
    expect((await runInkwire(['why', moe, 'general'], env)).stdout).toMatch(/waiting to be sent \(attempt 1/);
    expect((await runInkwire(['why', moe, '#filtered'], env)).stdout).toMatch(/filtered out: it mentions none of the keywords \(diffusion\)/);
    const old = 'https://dailyink.substack.com/p/rlhf-explained';
    expect((await runInkwire(['why', old, 'general'], env)).stdout).toMatch(/stored as already seen/);
    expect((await runInkwire(['why', 'https://nowhere.example/p/x', 'general'], env)).stdout).toMatch(/No stored post has the URL/);
    expect((await runInkwire(['why', moe, 'nobody'], env)).stdout).toMatch(/no subscriptions/);
  });

  it('GIVEN bad arguments THEN usage and exit 2', async () => {
    expect((await runInkwire(['deliveries', '--status', 'lost'], env)).code).toBe(2);
    expect((await runInkwire(['why', 'only-one-arg'], env)).code).toBe(2);
  });
});
