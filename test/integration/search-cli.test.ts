import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startFeedServer, type FeedServer } from '../fakes/feed-server.ts';
import { runInkwire, spawnInkwire } from '../fakes/cli-process.ts';
import { serveSubstackArchive } from '../fakes/substack-server.ts';
import { makeTempDir } from '../fakes/temp-dir.ts';

describe('search and backfill from the command line and the console', () => {
  let server: FeedServer;
  let dir: ReturnType<typeof makeTempDir>;
  let env: Record<string, string>;
  let stats: ReturnType<typeof serveSubstackArchive>;

  beforeAll(async () => {
    server = await startFeedServer();
    // An empty Substack feed: everything searchable has to come from the archive backfill.
    server.serveFeed('/feed', fixture('dailyink-feed-empty.xml'));
    stats = serveSubstackArchive(server, { postDelayMs: 150 });
    dir = makeTempDir();
    env = { FEED_URLS: server.url('/feed'), DATABASE_URL: dir.file('search.db'), BACKFILL_PAGE_SIZE: '3', BACKFILL_PAUSE_MS: '10' };
  });
  afterAll(async () => {
    await server.close();
    dir.remove();
  });

  it('GIVEN a backfill killed with SIGKILL mid-run THEN the next run completes it without refetching stored posts', async () => {
    const killed = spawnInkwire(['backfill'], env);
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (stats.postRequests.length >= 1) {
          clearInterval(timer);
          resolve();
        }
      }, 10);
    });
    await new Promise((resolve) => setTimeout(resolve, 200)); // let one or two posts commit
    killed.child.kill('SIGKILL');
    await killed.exit();
    const afterKill = await runInkwire(['posts', '--json', '--limit', '50'], env);
    const storedAfterKill = (JSON.parse(afterKill.stdout) as Array<{ url: string }>).map((p) => p.url.split('/p/')[1]!);
    expect(storedAfterKill.length).toBeLessThan(7); // the kill really interrupted it…
    const requestsBefore = stats.postRequests.length;

    const resumed = await runInkwire(['backfill'], env);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/7 listed, \d+ fetched, \d+ already stored — complete/);
    const refetched = stats.postRequests.slice(requestsBefore).filter((slug) => storedAfterKill.includes(slug));
    expect(refetched).toEqual([]);
    const posts = JSON.parse((await runInkwire(['posts', '--json', '--limit', '50'], env)).stdout) as unknown[];
    expect(posts).toHaveLength(7);

    const again = await runInkwire(['backfill'], env);
    expect(again.stdout).toMatch(/0 fetched/);
  });

  it('GIVEN a query THEN search --json prints id, title, url, publishedAt, score and a marked snippet', async () => {
    const result = await runInkwire(['search', 'tiling', 'SRAM', '--json'], env);
    expect(result.code).toBe(0);
    const hits = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    expect(hits[0]).toMatchObject({ title: 'FlashAttention challenges ML researchers to think about systems-level improvements', matchedBy: 'text' });
    for (const key of ['id', 'title', 'url', 'publishedAt', 'score', 'snippet']) expect(hits[0]).toHaveProperty(key);
    expect(hits[0]!.snippet).toMatch(/\*\*(tiles|SRAM)\*\*/i);
  });

  it('GIVEN hostile or empty queries THEN a clear message, exit 1, never a stack trace', async () => {
    const operators = await runInkwire(['search', '"*) OR NEAR(: ^'], env);
    expect(operators.code).toBe(0); // "or" and "near" are just words here
    expect(operators.stderr).not.toMatch(/SqliteError|at .*\.ts:/);
    const hostile = await runInkwire(['search', '"*) :: ^ (("'], env);
    expect(hostile.code).toBe(1);
    expect(hostile.stderr).toMatch(/Type at least one word/);
    expect(hostile.stderr).not.toMatch(/SqliteError|at .*\.ts:/);
    const usage = await runInkwire(['search'], env);
    expect(usage.code).toBe(2);
  });

  it('GIVEN reindex THEN rebuilds and search still answers', async () => {
    const result = await runInkwire(['reindex'], env);
    expect(result.stdout).toMatch(/Rebuilt the search indexes over 7 post\(s\)/);
    const search = await runInkwire(['search', 'chinchilla'], env);
    expect(search.stdout).toContain('chinchilla-compute-optimal');
  });

  it('GIVEN the console THEN /search answers from the backfilled archive, privately unless shared', async () => {
    const bot = spawnInkwire(['start'], { ...env, POLL_CRON: '0 0 1 1 *' });
    bot.write('/search router experts');
    await bot.waitFor(/Results 1–\d+ of \d+ for router experts[\s\S]*Mixture of Experts, Explained/);
    expect(bot.stdout()).toContain('(only you can see this)');
    bot.write('/search 2205.14135');
    await bot.waitFor(/No explainer matches “2205.14135”|Explains arXiv:2205.14135/);
    bot.write('/search quantum chromodynamics');
    await bot.waitFor(/No explainer matches “quantum chromodynamics”\. Tips:/);
    bot.write('/search query:lora share:true');
    await bot.waitFor(/for lora[\s\S]*LoRA: Fine-Tuning/);
    bot.write('/quit');
    expect(await bot.exit()).toBe(0);
  });

  it('GIVEN start sees a Substack feed for the first time THEN it backfills the archive in the background and announces none of it', async () => {
    const bot = spawnInkwire(['start'], { ...env, DATABASE_URL: dir.file('start.db'), POLL_JITTER_SECONDS: '0' });
    await bot.waitFor(/archive backfill finished/, { stream: 'stderr' });
    bot.write('/latest count:10');
    await bot.waitFor(/Mixture of Experts, Explained[\s\S]*Attention Is All You Need/);
    expect(bot.stdout()).not.toContain('New post');
    bot.child.kill('SIGTERM');
    expect(await bot.exit()).toBe(0);
  });
});
