import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { startPlatformServer } from '../fakes/platform-server.ts';
import { makeTempDir } from '../fakes/temp-dir.ts';

const WORKER = fileURLToPath(new URL('../fakes/delivery-worker-process.ts', import.meta.url));
const CHANNELS = 200;

const children: ChildProcess[] = [];

function startWorker(db: string, url: string): ChildProcess {
  // One process (tsx as a loader, not its CLI, which would run the worker in a grandchild that SIGKILL misses).
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, db, url, '1000'], { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  return child;
}

describe('exactly once across a crash', () => {
  const dir = makeTempDir();
  afterEach(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL'); // never leave a worker behind
    dir.remove();
  });

  it('GIVEN a worker killed with SIGKILL after 40 of 200 sends THEN after a restart every channel has the post exactly once', async () => {
    const db = dir.file('crash.db');
    const seed = openSqliteStore(db);
    const feed = await seed.feeds.ensure('https://dailyink.substack.com/feed', new Date());
    for (let i = 0; i < CHANNELS; i++) {
      await seed.subscriptions.create({
        kind: 'channel', platform: 'console', workspaceId: 'ws', channelId: `c${i}`, feedId: feed.id, keywords: [],
        mode: 'instant', mentionId: null, createdBy: 'test', createdAt: new Date(0),
      });
    }
    await seed.posts.ingest({
      feedId: feed.id, at: new Date(), announceKeys: new Set(['slug:moe']),
      drafts: [{ key: 'slug:moe', guid: null, url: 'https://dailyink.substack.com/p/moe', title: 'Mixture of Experts', subtitle: null, author: null, publishedAt: new Date(), coverImageUrl: null, html: '', text: 'x', wordCount: 1, readingMinutes: 1, tldr: null, previewOnly: false, papers: [] }],
    });
    expect(await seed.deliveries.list({ status: 'pending', limit: 1000 })).toHaveLength(CHANNELS);
    await seed.close();

    let first: ChildProcess | null = null;
    let killedAt = 0;
    const server = await startPlatformServer({
      delayMs: 20,
      onRequest: (count) => {
        if (count === 40 && first) {
          first.kill('SIGKILL'); // mid-fan-out: some sends answered, some in flight, most not started
          killedAt = count;
        }
      },
    });
    first = startWorker(db, server.url);
    await new Promise((resolve) => first!.once('exit', resolve));
    expect(killedAt).toBe(40);
    const afterCrash = server.stats().messages;
    expect(afterCrash).toBeLessThan(CHANNELS);

    const second = startWorker(db, server.url);
    const watcher = openSqliteStore(db);
    const deadline = Date.now() + 30_000;
    // Done when the outbox says every delivery is sent (the server's count alone would miss the sends that
    // were in flight at the kill: posted, but not yet recorded, and retried only after their lease).
    while ((await watcher.deliveries.list({ status: 'sent', limit: 1000 })).length < CHANNELS && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await watcher.close();
    second.kill('SIGTERM');
    await new Promise((resolve) => second.once('exit', resolve));

    const perChannel = [...Array(CHANNELS).keys()].map((i) => server.messagesByChannel.get(`c${i}`)?.length ?? 0);
    expect(perChannel.every((n) => n === 1)).toBe(true);
    const { requests, repeatedKeys } = server.stats();
    console.log(`crash test: ${afterCrash} delivered before the kill, ${repeatedKeys} repeated key(s) after restart, ${requests} requests for ${CHANNELS} channels`);
    // Sends in flight at the kill reached the platform but were never recorded as sent: the restarted
    // worker repeats them after the lease, and their idempotency key makes the repeat a no-op.
    expect(repeatedKeys).toBeGreaterThanOrEqual(1);
    expect(repeatedKeys).toBeLessThanOrEqual(8);
    expect(requests).toBe(CHANNELS + repeatedKeys);
    const check = openSqliteStore(db);
    expect(await check.deliveries.list({ status: 'sent', limit: 1000 })).toHaveLength(CHANNELS);
    await check.close();
    await server.close();
  });
});
