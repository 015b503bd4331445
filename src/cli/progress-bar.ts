import type { BackfillProgress } from '../backfill/archive-backfill.ts';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * Shows backfill progress on one terminal line (stderr), redrawn in place. The archive's size is unknown
 * until its last page, so this is a spinner with pages and posts, not a bar that would always look full.
 * `done()` clears the line, so the summary that follows is never glued to it.
 */
export function createProgressBar(stream: NodeJS.WriteStream): { update(p: BackfillProgress): void; done(): void } {
  let drawn = false;
  let frame = 0;
  return {
    update(p) {
      const spinner = SPINNER[frame++ % SPINNER.length];
      stream.write(`\r\u001b[K${spinner} archive page ${p.pages} · ${p.listed} posts listed · ${p.stored} fetched · ${p.skipped} already stored${p.failed ? ` · ${p.failed} failed` : ''}`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\r\u001b[K');
    },
  };
}
