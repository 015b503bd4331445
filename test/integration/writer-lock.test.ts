import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { runInkwire, spawnInkwire } from '../fakes/cli-process.ts';
import { fixture, startFeedServer, type FeedServer } from '../fakes/feed-server.ts';
import { makeTempDir } from '../fakes/temp-dir.ts';

describe('one bot per SQLite file', () => {
  let server: FeedServer;
  const dir = makeTempDir();
  beforeAll(async () => {
    server = await startFeedServer();
    server.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
  });
  afterAll(async () => {
    await server.close();
    dir.remove();
  });

  it('GIVEN a store that holds the writer lock THEN a second one on the same file is refused, naming the file and the holder', async () => {
    const path = dir.file('locked.db');
    const first = openSqliteStore(path);
    first.lockWriter(new Date());
    const second = openSqliteStore(path);
    expect(() => second.lockWriter(new Date())).toThrow(new RegExp(`${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is already in use by inkwire \\(pid ${process.pid} on `));
    expect(await second.posts.count()).toBe(0); // reads still work beside the holder
    await first.close(); // closing releases the lock
    expect(() => second.lockWriter(new Date())).not.toThrow();
    await second.close();
  });

  it('GIVEN a running `inkwire start` THEN a second start on the same file exits 1 with the message; CLI reads still work; after a SIGKILL the lock is gone', async () => {
    const env = { FEED_URLS: server.url('/feed'), DATABASE_URL: dir.file('bot.db'), POLL_JITTER_SECONDS: '0' };
    const bot = spawnInkwire(['start'], env);
    try {
      await bot.waitFor(/Inkwire started/, { stream: 'stderr' });
      const second = await runInkwire(['start'], env);
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`${dir.file('bot.db')} is already in use by inkwire (pid ${bot.child.pid} on `);
      expect(second.stderr).not.toMatch(/at .*\.ts:\d+/); // a message, not a stack trace
      const reads = await runInkwire(['feeds'], env);
      expect(reads.code).toBe(0);
    } finally {
      bot.child.kill('SIGKILL');
      await bot.exit();
    }
    // The lock died with the process: no stale lock file to clean up by hand.
    const third = spawnInkwire(['start'], env);
    try {
      await third.waitFor(/Inkwire started/, { stream: 'stderr' });
    } finally {
      third.child.kill('SIGTERM');
      expect(await third.exit()).toBe(0);
    }
  });
});
