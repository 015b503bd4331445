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
    const holder = readHolder(db);
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

interface Holder {
  pid: number;
  host: string;
  started_at: number;
}

/**
 * The holder records itself just after it takes the lock, so a start refused in that instant can find no
 * row yet (or a dead predecessor's row). Wait briefly for a live holder's row before naming "another process".
 */
function readHolder(db: Database, waitMs = 3000): Holder | undefined {
  const read = db.prepare('SELECT pid, host, started_at FROM writer_lock WHERE id = 1');
  const pause = new Int32Array(new SharedArrayBuffer(4));
  let holder: Holder | undefined;
  for (let waited = 0; ; waited += 50) {
    try {
      holder = read.get() as Holder | undefined;
    } catch (error) {
      if (!isSqliteBusy(error)) throw error;
    }
    if (holder && (holder.host !== hostname() || isAlive(holder.pid))) return holder;
    if (waited >= waitMs) return holder;
    Atomics.wait(pause, 0, 0, 50);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
