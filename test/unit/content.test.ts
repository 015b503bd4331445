import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cleanPostHtml } from '../../src/content/html-cleaner.ts';
import { extractPaperRefs, parsePaperQuery } from '../../src/content/paper-refs.ts';
import { truncateAtWord } from '../../src/content/text.ts';
import { normaliseUrl, postKey } from '../../src/posts/post-key.ts';

describe('cleanPostHtml', () => {
  const substackHtml =
    '<p>Intro paragraph that explains the paper in plain words &#8212; with care.</p>' +
    '<div class="captioned-image-container"><figure><img src="x.png" srcset="a 1x"><figcaption>Figure 2: the tiling.</figcaption></figure></div>' +
    '<div class="subscription-widget-wrap-editor" data-attrs="{}"><p class="cta-caption">Thanks for reading! Subscribe for free.</p><form><input type="email"></form></div>' +
    '<p class="button-wrapper"><a class="button primary" href="https://x.substack.com/p/y?action=share"><span>Share</span></a></p>' +
    '<svg><path d="M0"/></svg><p>Second paragraph.</p>';

  it('GIVEN Substack boilerplate THEN strips widgets, buttons and SVG but keeps captions and decodes entities', () => {
    const cleaned = cleanPostHtml(substackHtml);
    expect(cleaned.text).toBe(
      'Intro paragraph that explains the paper in plain words — with care.\nFigure 2: the tiling.\nSecond paragraph.',
    );
    expect(cleaned.html).not.toMatch(/subscription-widget|svg|srcset|Share/);
    expect(cleaned.tldrSource).toBe('Intro paragraph that explains the paper in plain words — with care.');
  });

  it('GIVEN an explicit TL;DR paragraph THEN uses it as the tl;dr', () => {
    const cleaned = cleanPostHtml('<p>Some long opening about the history of the field, which goes on.</p><p><strong>TL;DR:</strong> Smaller models, more data.</p>');
    expect(cleaned.tldrSource).toBe('Smaller models, more data.');
  });

  it('GIVEN a paywall marker THEN flags the post as preview-only', () => {
    expect(cleanPostHtml('<p>Free part.</p><div class="paywall-jump" data-component-name="PaywallToDOM"></div>').hasPaywallMarker).toBe(true);
  });
});

describe('paper references', () => {
  it('GIVEN links and text THEN extracts normalised arXiv ids and DOIs once each', () => {
    const refs = extractPaperRefs([
      'https://arxiv.org/abs/2205.14135v2',
      'https://arxiv.org/pdf/2205.14135',
      'https://doi.org/10.1038/S41586-021-03819-2.',
      'see arXiv:1706.03762 and https://doi.org/10.48550/arXiv.2106.09685',
    ]);
    expect(refs).toEqual([
      { kind: 'arxiv', id: '2205.14135' },
      { kind: 'doi', id: '10.1038/s41586-021-03819-2' },
      { kind: 'arxiv', id: '1706.03762' },
      { kind: 'arxiv', id: '2106.09685' },
    ]);
  });

  it.each([
    ['2205.14135', { kind: 'arxiv', id: '2205.14135' }],
    ['arXiv:2205.14135v3', { kind: 'arxiv', id: '2205.14135' }],
    ['arxiv.org/abs/2205.14135v2', { kind: 'arxiv', id: '2205.14135' }],
    ['https://arxiv.org/pdf/2205.14135', { kind: 'arxiv', id: '2205.14135' }],
    ['10.1038/s41586-021-03819-2', { kind: 'doi', id: '10.1038/s41586-021-03819-2' }],
    ['flash attention', null],
    ['2205', null],
  ])('GIVEN the query %s THEN reads it as %j', (query, expected) => {
    expect(parsePaperQuery(query)).toEqual(expected);
  });
});

describe('truncateAtWord', () => {
  it('GIVEN long text THEN cuts at a word boundary with an ellipsis', () => {
    expect(truncateAtWord('The quick brown fox jumps over the lazy dog', 20)).toBe('The quick brown fox…');
  });

  it('GIVEN any string and limit THEN stays within the limit and never splits a surrogate pair', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 400 }), fc.integer({ min: 1, max: 300 }), (value, max) => {
        const out = truncateAtWord(value, max);
        expect(out.length).toBeLessThanOrEqual(Math.max(max, 1));
        expect(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(out)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});

describe('post keys', () => {
  it('GIVEN Substack URLs on two hosts THEN the key is the slug', () => {
    const a = postKey({ link: 'https://dailyink.substack.com/p/lora?utm_source=x', guid: null, title: null, publishedAt: null });
    const b = postKey({ link: 'https://www.dailyink.ai/p/lora/', guid: 'https://www.dailyink.ai/p/lora', title: null, publishedAt: null });
    expect(a).toBe('slug:lora');
    expect(b).toBe('slug:lora');
  });

  it('GIVEN no slug THEN falls back to guid, then link, then a hash', () => {
    expect(postKey({ link: 'https://blog.example/2024/x', guid: 'tag:1', title: 't', publishedAt: null })).toBe('guid:tag:1');
    expect(postKey({ link: 'https://blog.example/2024/x#top', guid: null, title: 't', publishedAt: null })).toBe('link:https://blog.example/2024/x');
    expect(postKey({ link: null, guid: null, title: 't', publishedAt: new Date(0) })).toMatch(/^hash:[0-9a-f]{32}$/);
  });

  it('GIVEN tracking parameters THEN normaliseUrl drops them', () => {
    expect(normaliseUrl('https://X.example/p/a/?utm_source=tw&id=3#c')).toBe('https://x.example/p/a?id=3');
  });
});

describe('papers named in a post', () => {
  it('GIVEN a link to a paper whose text is its title THEN the paper carries that title; "arXiv" or a bare URL as link text names nothing', async () => {
    const { cleanPostHtml } = await import('../../src/content/html-cleaner.ts');
    const cleaned = cleanPostHtml(
      '<p>See <a href="https://arxiv.org/abs/2205.14135">FlashAttention: Fast and Memory-Efficient Exact Attention</a>, ' +
        'the <a href="https://arxiv.org/abs/1706.03762v5">arXiv</a> original and <a href="https://arxiv.org/abs/2106.09685">https://arxiv.org/abs/2106.09685</a>.</p>',
    );
    expect(cleaned.papers).toEqual([
      { kind: 'arxiv', id: '2205.14135', title: 'FlashAttention: Fast and Memory-Efficient Exact Attention' },
      { kind: 'arxiv', id: '1706.03762' },
      { kind: 'arxiv', id: '2106.09685' },
    ]);
  });
});
