import { buildCore } from '../../src/app.ts';
import { createManualClock } from '../../src/clock.ts';
import type { Invoker, Place } from '../../src/commands/command-spec.ts';
import { loadConfig } from '../../src/config.ts';
import { createSilentLogger } from '../../src/logger.ts';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { ALL_COMMANDS } from '../../commands/index.ts';

/** A wired core over an in-memory SQLite store, a manual clock and the given environment. */
export function createCoreFixture(env: Record<string, string> = {}, start = new Date('2023-03-09T12:00:00Z')) {
  const clock = createManualClock(start);
  const config = loadConfig({ DELIVERY_RETRY_BASE_SECONDS: '1', ...env });
  const store = openSqliteStore(':memory:', { clock });
  const core = buildCore({ config, store, fetch: globalThis.fetch, clock, logger: createSilentLogger(), commands: ALL_COMMANDS });
  return { clock, config, store, core };
}

export const admin: Invoker = { userId: 'u-admin', displayName: 'Admin', canManage: true };
export const member: Invoker = { userId: 'u-member', displayName: 'Member', canManage: false };

export function channel(channelId: string, workspaceId = 'ws1'): Place {
  return { platform: 'console', workspaceId, channelId, isDirect: false };
}
