import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SQLITE_MIGRATIONS } from '../../src/storage/sqlite/sqlite-migrations.ts';
import { spawnInkwire } from '../fakes/cli-process.ts';
import { fixture, startFeedServer } from '../fakes/feed-server.ts';
import { makeTempDir } from '../fakes/temp-dir.ts';

const CHILD = fileURLToPath(new URL('../fakes/sqlite-open-child.ts', import.meta.url));
const TSX = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));

/** A child that opens the store when told; resolves its one-line outcome. */
function openerProcess(path: string) {
  const child = spawn(process.execPath, [TSX, CHILD, path], { stdio: 'pipe' });
  let out = '';
  let err = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (out.includes('ready\n')) resolve();
    });
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    child.on('exit', () => reject(new Error(`the child exited before it was ready:\n${out}\n${err}`)));
  });
  const outcome = new Promise<string>((resolve) => child.on('exit', () => resolve(out.replace('ready\n', '').trim() || `no outcome; stderr: ${err}`)));
  return { ready, outcome, go: () => child.stdin.write('go\n') };
}

describe('opening a new SQLite file from many processes at once', () => {
  const dir = makeTempDir();
  afterEach(() => dir.remove());

  it('GIVEN 20 processes opening one new file at the same instant THEN every open succeeds and the schema is migrated once, to the latest version', async () => {
    const path = join(dir.path, 'fresh.db');
    const openers = Array.from({ length: 20 }, () => openerProcess(path));
    await Promise.all(openers.map((o) => o.ready));
    for (const opener of openers) opener.go();
    const outcomes = await Promise.all(openers.map((o) => o.outcome));
    expect(outcomes.filter((o) => o !== 'opened')).toEqual([]);
    const db = new BetterSqlite3(path, { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(SQLITE_MIGRATIONS.length);
    } finally {
      db.close();
    }
  }, 120_000);

  it('GIVEN two `inkwire start` on one new file at the same moment THEN one runs and the other is refused with a message naming it', async () => {
    const server = await startFeedServer();
    server.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    const env = { FEED_URLS: server.url('/feed'), DATABASE_URL: join(dir.path, 'two-bots.db'), POLL_JITTER_SECONDS: '0' };
    const bots = [spawnInkwire(['start'], env), spawnInkwire(['start'], env)];
    try {
      const first = await Promise.race(bots.map(async (bot, i) => ({ i, code: await bot.exit() })));
      const refused = bots[first.i]!;
      const running = bots[1 - first.i]!;
      expect(first.code, refused.stderr()).toBe(1);
      expect(refused.stderr()).toContain(`is already in use by inkwire (pid ${running.child.pid} on `);
      await running.waitFor(/Inkwire started/, { stream: 'stderr' });
    } finally {
      for (const bot of bots) if (bot.child.exitCode === null) bot.child.kill('SIGTERM');
      await Promise.all(bots.map((bot) => bot.exit()));
      await server.close();
    }
  }, 60_000);
});
