import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { CronScheduler } from '../scheduling/cron-scheduler.ts';
import type { DeliveryStore } from '../storage/delivery-store.ts';

export const DAILY_DIGEST_CRON = '0 9 * * *';
export const WEEKLY_DIGEST_CRON = '0 9 * * 1';

/** The digest period a moment belongs to, in a time zone: `2024-03-09` (daily) or `2024-W10` (weekly). */
export function digestPeriod(mode: 'daily' | 'weekly', at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  const [year, month, day] = [get('year'), get('month'), get('day')];
  if (mode === 'daily') return `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  // ISO week of the local calendar date.
  const date = new Date(Date.UTC(year, month - 1, day));
  const weekday = date.getUTCDay() || 7;
  date.setUTCDate(date.getUTCDate() + 4 - weekday);
  const weekYear = date.getUTCFullYear();
  const week = Math.ceil(((date.getTime() - Date.UTC(weekYear, 0, 1)) / 86_400_000 + 1) / 7);
  return `${weekYear}-W${String(week).padStart(2, '0')}`;
}

/**
 * Sends digests: daily at 09:00 and weekly on Mondays at 09:00 in `timeZone`. Each run bundles every
 * digest subscription's queued posts into one delivery for that period (idempotent per period), so a
 * digest with no posts sends nothing and a re-run never sends twice.
 */
export function startDigestScheduler(options: {
  cron: CronScheduler;
  deliveries: DeliveryStore;
  clock: Clock;
  logger: Logger;
  timeZone: string;
  onBundled: () => void;
}) {
  const run = async (mode: 'daily' | 'weekly') => {
    const at = options.clock.now();
    try {
      const made = await options.deliveries.bundleDigests(mode, digestPeriod(mode, at, options.timeZone), at);
      if (made > 0) {
        options.logger.info({ mode, digests: made }, 'digests queued');
        options.onBundled();
      }
    } catch (error) {
      options.logger.error({ err: error, mode }, 'digest bundling failed');
    }
  };
  const jobs = [
    options.cron.schedule(DAILY_DIGEST_CRON, () => void run('daily'), { timezone: options.timeZone }),
    options.cron.schedule(WEEKLY_DIGEST_CRON, () => void run('weekly'), { timezone: options.timeZone }),
  ];
  return {
    run,
    async stop() {
      await Promise.all(jobs.map((job) => job.stop()));
    },
  };
}
