// A delivery worker in its own process, for crash tests: `tsx delivery-worker-process.ts <db> <platform-url> <lease-ms>`.
// It runs the real engine against a real SQLite file until it is killed.
import { createDeliveryEngine } from '../../src/delivery/delivery-engine.ts';
import { systemClock } from '../../src/clock.ts';
import { createLogger } from '../../src/logger.ts';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { createHttpPlatform } from './http-platform.ts';

const [dbPath, platformUrl, leaseMs] = process.argv.slice(2);
const store = openSqliteStore(dbPath!);
const engine = createDeliveryEngine({
  platform: createHttpPlatform(platformUrl!),
  deliveries: store.deliveries,
  clock: systemClock,
  logger: createLogger({ level: 'warn', pretty: false }),
  concurrency: 8,
  leaseMs: Number(leaseMs),
  maxAttempts: 10,
  retryBaseMs: 100,
  retryMaxMs: 1000,
  idleMs: 100,
});
engine.start();
process.stdout.write('worker ready\n');
process.once('SIGTERM', () => {
  void engine.stop().then(() => store.close()).then(() => process.exit(0));
});
