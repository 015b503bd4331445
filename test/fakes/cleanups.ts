import { afterEach } from 'vitest';

/** Things a test started (servers, processes, stores), undone after each test, last started first. */
export interface Cleanups {
  push(...undo: Array<() => Promise<unknown> | unknown>): void;
}

/** Registers the `afterEach` that runs what each test pushed; call once inside a `describe`. */
export function cleanupsAfterEach(): Cleanups {
  const pending: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    for (const undo of pending.splice(0).reverse()) await undo();
  });
  return { push: (...undo) => void pending.push(...undo) };
}
