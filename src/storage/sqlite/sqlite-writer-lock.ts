import { hostname } from 'node:os';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { InkwireError } from '../../errors.ts';
import { isSqliteBusy } from './sqlite-busy.ts';

export interface WriterLock {
  release(): void;
}

/**
 * Makes this process the only one that runs the bot on a SQLite file. The lock is an exclusive SQLite
 * lock on `<file>.lock` held for the life of the process: the operating system drops it when the process
 * dies, however it dies, so a crash never leaves a stale lock. Who holds it is recorded in the database
 * (readable by everyone, WAL) so a refused second start can say which process to stop. CLI reads take no lock.
 */
export function acquireWriterLock(path: string, db: Database, now: Date, pid = process.pid): WriterLock {
  const lockPath = `${path}.lock`;
  const lock = new BetterSqlite3(lockPath);
  try {
    lock.pragma('busy_timeout = 0');
    lock.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock; in EXCLUSIVE locking mode it is kept until close.
    lock.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS held (at INTEGER); DELETE FROM held; INSERT INTO held VALUES (0); COMMIT;');
  } catch (error) {
    lock.close();
    if (!isSqliteBusy(error)) throw error;
    const holder = db.prepare('SELECT pid, host, started_at FROM writer_lock WHERE id = 1').get() as { pid: number; host: string; started_at: number } | undefined;
    const who = holder ? `inkwire (pid ${holder.pid} on ${holder.host}, started ${new Date(holder.started_at).toISOString()})` : 'another inkwire process';
    throw new InkwireError(
      'store/locked',
      `${path} is already in use by ${who}. One process runs the bot on a SQLite file; stop that one first (CLI commands such as \`inkwire posts\` still work beside it).`,
    );
  }
  db.prepare('INSERT INTO writer_lock (id, pid, host, started_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, host = excluded.host, started_at = excluded.started_at')
    .run(pid, hostname(), now.getTime());
  return {
    release() {
      if (lock.open) lock.close();
    },
  };
}
