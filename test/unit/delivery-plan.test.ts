import { describe, expect, it } from 'vitest';
import { destinationKeyOf, digestDeliveryKey, planDeliveries, postDeliveryKey, type PlannableSubscription } from '../../src/delivery/delivery-plan.ts';

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
});
