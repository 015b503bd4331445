import { PassThrough } from 'node:stream';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { ALL_COMMANDS } from '../../commands/index.ts';
import { startConsoleAdapter } from '../../adapters/console/console-adapter.ts';
import { buildCore } from '../../src/app.ts';
import { createManualClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import { createDeliveryEngine } from '../../src/delivery/delivery-engine.ts';
import { explainDelivery } from '../../src/delivery/delivery-explainer.ts';
import { createSilentLogger } from '../../src/logger.ts';
import type { ChatPlatform } from '../../src/platform/chat-platform.ts';
import type { Store } from '../../src/storage/store.ts';
import { cleanupsAfterEach } from '../fakes/cleanups.ts';
import { makeDraft } from '../fakes/post-drafts.ts';
import { STORE_BACKENDS, type StoreBackend } from '../fakes/store-backends.ts';

const FEED = 'https://dailyink.substack.com/feed';
const DM = '(direct message to you: an alert matched)';

describe.each(STORE_BACKENDS)('alert direct messages on %s: one per person per post', (_name, makeBackend, skip) => {
  let backend: StoreBackend;
  const cleanups = cleanupsAfterEach();

  beforeEach((context) => {
    if (skip) return context.skip('TEST_DATABASE_URL is not set (see the warning above)');
    backend ??= makeBackend();
  });
  afterAll(async () => backend?.cleanup());

  /** The real console adapter over a core on this backend's store, typed into as a person would. */
  async function startConsole() {
    const clock = createManualClock(new Date('2023-03-09T12:00:00Z'));
    const store: Store = await backend.open({ clock });
    const core = buildCore({ config: loadConfig({}), store, fetch: globalThis.fetch, clock, logger: createSilentLogger(), commands: ALL_COMMANDS });
    const input = new PassThrough();
    const output = new PassThrough();
    let printed = '';
    output.on('data', (chunk: Buffer) => (printed += chunk.toString('utf8')));
    const console = startConsoleAdapter({ input, output, commands: ALL_COMMANDS, services: core.commandServices, logger: createSilentLogger(), onQuit: () => {} });
    cleanups.push(() => console.stop());
    /** Types a command and waits until its reply has been printed. */
    const type = async (line: string, reply: RegExp) => {
      const before = printed.length;
      input.write(`${line}\n`);
      while (!reply.test(printed.slice(before))) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    const deliver = (platform: ChatPlatform) =>
      createDeliveryEngine({
        platform, deliveries: store.deliveries, clock, logger: createSilentLogger(),
        concurrency: 4, leaseMs: 60_000, maxAttempts: 3, retryBaseMs: 1000, retryMaxMs: 10_000,
      }).drain();
    return { clock, store, console, type, deliver, printed: () => printed };
  }

  it('GIVEN `/alerts add "KV cache"` and `/alerts add mamba` and a post mentioning both THEN exactly one DM, naming both; the channel the same person subscribed still gets its card', async () => {
    const { clock, store, console, type, deliver, printed } = await startConsole();
    const feed = await store.feeds.ensure(FEED, clock.now()); // operator-configured: every alert may see it
    await store.subscriptions.create({
      kind: 'channel', platform: 'console', workspaceId: 'console', channelId: 'general', feedId: feed.id, keywords: [],
      mode: 'instant', mentionId: null, createdBy: 'console-user', createdAt: clock.now(),
    });
    await type('/alerts add "KV cache"', /Alert added/);
    await type('/alerts add mamba', /Alert added/);
    await type('/alerts list', /Your alerts:[\s\S]*kv cache[\s\S]*mamba/);

    await store.posts.ingest({
      feedId: feed.id, at: clock.now(), announceKeys: new Set(['slug:long-contexts']),
      drafts: [makeDraft('long-contexts', { title: 'Serving long contexts', text: 'The KV cache grows with every token; Mamba keeps a fixed-size state instead.' })],
    });
    await deliver(console);

    const out = printed();
    expect(out.split(DM)).toHaveLength(2); // exactly one direct message
    const dm = out.slice(out.indexOf(DM));
    expect(dm).toMatch(/^[^\n]*\n[^\n]*Serving long contexts\nMatched your alert: kv cache, mamba\n/);
    expect(out.match(/New post/g)).toHaveLength(2); // the DM and #general's card
    expect(out.match(/Matched your alert/g)).toHaveLength(1); // only on the DM
    const records = await store.deliveries.forPost((await store.posts.latest({ limit: 1 }))[0]!.id);
    expect(records.map((r) => [r.subscriptionKind, r.status]).sort()).toEqual([['alert', 'sent'], ['channel', 'sent']]);
    // `inkwire why <post> <user>` explains both alerts: one carried the message, the other matched too.
    const why = await explainDelivery(store, 'https://dailyink.substack.com/p/long-contexts', 'console-user');
    expect(why).toHaveLength(2);
    expect(why[0]).toMatch(/^console:dm:console-user ← alert \(kv cache\): delivered at .* as message console-\d+\.$/);
    expect(why[1]).toMatch(/^console:dm:console-user ← alert \(mamba\): matched too; .* carried by another of their alerts \(#\d+\), which is delivered at /);
  });

  it('GIVEN two users whose alerts match one post THEN each gets one DM naming only their own keywords', async () => {
    const { clock, store, console, type, deliver, printed } = await startConsole();
    const feed = await store.feeds.ensure(FEED, clock.now());
    await type('/alerts add "KV cache"', /Alert added/);
    await type('/alerts add mamba', /Alert added/);
    await store.subscriptions.create({
      kind: 'alert', platform: 'console', workspaceId: 'console', channelId: 'someone-else', feedId: null, keywords: ['mamba'],
      mode: 'instant', mentionId: null, createdBy: 'someone-else', createdAt: clock.now(),
    });
    await store.posts.ingest({
      feedId: feed.id, at: clock.now(), announceKeys: new Set(['slug:long-contexts']),
      drafts: [makeDraft('long-contexts', { title: 'Serving long contexts', text: 'The KV cache grows; Mamba does not.' })],
    });
    const sends: Array<{ user: string; matched: readonly string[] | undefined }> = [];
    await deliver({
      ...console,
      async send(destination, message, options) {
        if (destination.direct && message.kind === 'post') sends.push({ user: destination.channelId, matched: message.card.matched });
        return console.send(destination, message, options);
      },
    });
    expect(sends.sort((a, b) => a.user.localeCompare(b.user))).toEqual([
      { user: 'console-user', matched: ['kv cache', 'mamba'] },
      { user: 'someone-else', matched: ['mamba'] },
    ]);
    expect(printed().split(DM)).toHaveLength(3);
  });

  it('GIVEN a DM waiting to be sent WHEN the person removes one of the alerts that matched it THEN it still arrives once, naming only the keywords left; removing every alert drops it', async () => {
    const { clock, store, console, type, deliver, printed } = await startConsole();
    const feed = await store.feeds.ensure(FEED, clock.now());
    const publish = (slug: string) => store.posts.ingest({
      feedId: feed.id, at: clock.now(), announceKeys: new Set([`slug:${slug}`]),
      drafts: [makeDraft(slug, { text: 'The KV cache grows with every token; Mamba keeps a fixed-size state instead.' })],
    });
    const dms = () => printed().split(DM).slice(1).map((dm) => dm.split('\n').find((line) => line.startsWith('Matched your alert')));

    await type('/alerts add "KV cache"', /Alert added/);
    await type('/alerts add mamba', /Alert added/);
    await publish('first'); // carried by the "kv cache" alert, the older one
    await type('/alerts remove "KV cache"', /Removed 1 alert/);
    await deliver(console);
    expect(dms()).toEqual(['Matched your alert: mamba']);

    await type('/alerts add "KV cache"', /Alert added/);
    await publish('second'); // now carried by "mamba"
    await type('/alerts remove "KV cache"', /Removed 1 alert/);
    await deliver(console);
    expect(dms()).toEqual(['Matched your alert: mamba', 'Matched your alert: mamba']);

    await publish('third');
    await type('/alerts remove all', /Removed 1 alert/);
    await deliver(console);
    expect(dms()).toHaveLength(2);
  });
});
