import { createTask, schedule } from 'node-cron';

/** A handle to stop a recurring job. */
export interface ScheduledJob {
  stop(): Promise<void>;
}

/** The port for "run this on a cron expression", so tests can tick by hand instead of waiting. */
export interface CronScheduler {
  schedule(expression: string, task: () => void, options?: { timezone?: string }): ScheduledJob;
}

export const nodeCronScheduler: CronScheduler = {
  schedule(expression, task, options) {
    const job = schedule(expression, task, { noOverlap: false, ...(options?.timezone ? { timezone: options.timezone } : {}) });
    return {
      stop: async () => {
        await job.stop();
        await job.destroy();
      },
    };
  },
};

/** A scheduler whose jobs run only when `tick()` is called; for tests. */
export function createManualScheduler(): CronScheduler & { tick(expression?: string): void; jobs(): number } {
  const jobs = new Map<number, { expression: string; task: () => void }>();
  let next = 0;
  return {
    schedule(expression, task) {
      const id = next++;
      jobs.set(id, { expression, task });
      return { stop: async () => void jobs.delete(id) };
    },
    tick(expression) {
      for (const job of [...jobs.values()]) if (expression === undefined || job.expression === expression) job.task();
    },
    jobs: () => jobs.size,
  };
}

/** The time between two runs of a cron expression (the next two), e.g. 15 minutes for "*\/15 * * * *". */
export function cronIntervalMs(expression: string): number {
  const task = createTask(expression, () => {});
  try {
    const [first, second] = task.getNextRuns(2);
    return first && second ? second.getTime() - first.getTime() : 15 * 60 * 1000;
  } finally {
    void task.destroy();
  }
}
