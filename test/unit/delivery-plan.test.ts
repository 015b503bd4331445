import { describe, expect, it } from 'vitest';
import { destinationKeyOf, digestDeliveryKey, matchedLabel, matchedOfLabel, planDeliveries, postDeliveryKey, type PlannableSubscription } from '../../src/delivery/delivery-plan.ts';

const post = { id: 7, feedId: 1, title: 'Mixture of Experts, explained', subtitle: null, text: 'A router sends each token to two experts.' };
const sub = (id: number, overrides: Partial<PlannableSubscription> = {}): PlannableSubscription => ({
  id, kind: 'channel', platform: 'discord', channelId: `c${id}`, feedId: 1, keywords: [], mode: 'instant', ...overrides,
});

describe('planDeliveries (pure): which subscriptions get a new post', () => {
  it('GIVEN channel subscriptions to the feed THEN one delivery each, keyed by post and subscription', () => {
    const plan = planDeliveries(post, [sub(1), sub(2)]);
    expect(plan.deliveries).toEqual([
      { subscriptionId: 1, destinationKey: 'discord:c1', idempotencyKey: 'p7-s1' },
      { subscriptionId: 2, destinationKey: 'discord:c2', idempotencyKey: 'p7-s2' },
    ]);
    expect(plan.digests).toEqual([]);
  });

  it('GIVEN another feed, keywords that do not match, and a digest THEN only what applies', () => {
    const plan = planDeliveries(post, [
      sub(1, { feedId: 2 }),
      sub(2, { keywords: ['diffusion'] }),
      sub(3, { keywords: ['router'] }),
      sub(4, { mode: 'daily' }),
      sub(5, { kind: 'alert', feedId: null, keywords: ['mixture of experts'], channelId: 'u5', feedVisible: true }),
      sub(6, { kind: 'alert', feedId: null, keywords: ['experts'], channelId: 'u6', feedVisible: false }),
    ]);
    expect(plan.deliveries.map((d) => d.subscriptionId)).toEqual([3, 5]);
    expect(plan.deliveries[1]!.destinationKey).toBe('discord:dm:u5');
    expect(plan.digests).toEqual([4]);
  });

  it('GIVEN the key builders THEN one format everywhere, and every key fits a Discord nonce (25)', () => {
    expect(postDeliveryKey(123456789, 987654)).toBe('p123456789-s987654');
    expect(digestDeliveryKey(12, '2026-W49')).toBe('d12-2026-W49');
    expect(destinationKeyOf({ kind: 'channel', platform: 'slack', channelId: 'C1' })).toBe('slack:C1');
    expect(postDeliveryKey(2 ** 31, 2 ** 31).length).toBeLessThanOrEqual(25);
  });

  describe('a person whose alerts match gets one direct message, naming what matched', () => {
    const both = { id: 9, feedId: 1, title: 'Serving long contexts', subtitle: null, text: 'The KV cache grows with the context; Mamba keeps a fixed state.' };
    const alert = (id: number, keywords: string[], overrides: Partial<PlannableSubscription> = {}) =>
      sub(id, { kind: 'alert', feedId: null, channelId: 'u1', keywords, feedVisible: true, ...overrides });

    it('GIVEN two alerts of one user that both match THEN one delivery, carried by the lower id, naming both keywords', () => {
      const plan = planDeliveries(both, [alert(12, ['mamba']), alert(4, ['kv cache'])]);
      expect(plan.deliveries).toEqual([{ subscriptionId: 4, destinationKey: 'discord:dm:u1', idempotencyKey: 'p9-s4', matched: ['kv cache', 'mamba'] }]);
    });

    it('GIVEN one alert listing several keywords THEN it names only those the post mentions, each once across alerts', () => {
      const plan = planDeliveries(both, [alert(1, ['diffusion', 'mamba', 'kv cache']), alert(2, ['mamba']), alert(3, ['rlhf'])]);
      expect(plan.deliveries).toEqual([{ subscriptionId: 1, destinationKey: 'discord:dm:u1', idempotencyKey: 'p9-s1', matched: ['mamba', 'kv cache'] }]);
    });

    it('GIVEN the lower alert paused THEN the active one carries the message (it is not held), still naming both', () => {
      const plan = planDeliveries(both, [alert(1, ['kv cache'], { paused: true }), alert(2, ['mamba'])]);
      expect(plan.deliveries).toEqual([{ subscriptionId: 2, destinationKey: 'discord:dm:u1', idempotencyKey: 'p9-s2', matched: ['kv cache', 'mamba'] }]);
      const allPaused = planDeliveries(both, [alert(2, ['mamba'], { paused: true }), alert(1, ['kv cache'], { paused: true })]);
      expect(allPaused.deliveries.map((d) => d.subscriptionId)).toEqual([1]); // held on the lowest id until it resumes
    });

    it('GIVEN alerts of different users, an alert the feed is hidden from, and the same user\'s channel subscription THEN those are separate', () => {
      const plan = planDeliveries(both, [
        alert(1, ['kv cache']),
        alert(2, ['mamba']),
        alert(3, ['mamba'], { channelId: 'u2' }),
        alert(4, ['kv cache'], { feedVisible: false }),
        alert(5, ['mamba'], { platform: 'slack' }),
        sub(6, { channelId: 'u1', keywords: ['mamba'] }), // a channel that happens to share the id: not a DM
      ]);
      expect(plan.deliveries.map((d) => [d.subscriptionId, d.destinationKey, d.matched])).toEqual([
        [6, 'discord:u1', undefined],
        [1, 'discord:dm:u1', ['kv cache', 'mamba']],
        [3, 'discord:dm:u2', ['mamba']],
        [5, 'slack:dm:u1', ['mamba']],
      ]);
    });

    it('GIVEN the matched keywords kept on the outbox row THEN they read back, and any other label reads as none', () => {
      expect(matchedOfLabel(matchedLabel(['kv cache', 'mamba']))).toEqual(['kv cache', 'mamba']);
      expect(matchedLabel([])).toBeNull();
      expect(matchedLabel(undefined)).toBeNull();
      expect(matchedOfLabel('held')).toEqual([]);
      expect(matchedOfLabel(null)).toEqual([]);
      expect(matchedOfLabel('matched:{not json')).toEqual([]);
    });
  });
});
