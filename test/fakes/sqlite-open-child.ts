/**
 * A child process for concurrency tests: loads the SQLite store, prints `ready`, waits for `go` on stdin
 * (so that many children open at the same instant), opens the file given as its argument (migrating it),
 * prints `opened` or `failed: <message>`, and exits.
 */
import { createInterface } from 'node:readline';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';

const path = process.argv[2]!;
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line !== 'go') continue;
  try {
    const store = openSqliteStore(path);
    await store.close();
    process.stdout.write('opened\n');
  } catch (error) {
    process.stdout.write(`failed: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  break;
}
lines.close();
