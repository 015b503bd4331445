import type { BackfillProgress } from '../backfill/archive-backfill.ts';

/** Draws backfill progress on one terminal line (stderr), redrawn in place. */
export function createProgressBar(stream: NodeJS.WriteStream): { update(p: BackfillProgress): void; done(): void } {
  let drawn = false;
  return {
    update(p) {
      const handled = p.stored + p.skipped + p.failed;
      const width = 24;
      const filled = p.listed === 0 ? 0 : Math.round((handled / p.listed) * width);
      const bar = `${'█'.repeat(filled)}${'░'.repeat(Math.max(0, width - filled))}`;
      stream.write(`\r\u001b[K${bar} ${handled}/${p.listed} listed · ${p.stored} fetched · ${p.skipped} already stored${p.failed ? ` · ${p.failed} failed` : ''} · page ${p.pages}`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\n');
    },
  };
}
