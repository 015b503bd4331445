import { parse, NodeType, type HTMLElement, type Node } from 'node-html-parser';
import { extractPaperRefs, titleFromLinkText, type PaperRef } from './paper-refs.ts';

export interface CleanedContent {
  /** The body HTML without Substack's widgets, buttons, SVG icons and data blobs. */
  html: string;
  /** Plain text: entities decoded, one paragraph per line, figure captions kept. */
  text: string;
  /** An explicit "TL;DR" paragraph, else the first real paragraph. */
  tldrSource: string | null;
  /** True when the HTML carries Substack's paywall marker (the feed has only the free preview). */
  hasPaywallMarker: boolean;
  papers: PaperRef[];
}

/** Elements that are chrome, not content: subscribe forms, share/comment buttons, icons, scripts. */
const NOISE_SELECTORS = [
  'script',
  'style',
  'svg',
  'form',
  'button',
  'input',
  'iframe',
  '.subscription-widget-wrap-editor',
  '.subscription-widget-wrap',
  '.subscription-widget',
  '[data-component-name="SubscribeWidgetToDOM"]',
  '.button-wrapper',
  '.captioned-button-wrap',
  '[data-component-name="ButtonCreateButton"]',
  '.image-link-expand',
  '.share-dialog',
  '.paywall-jump',
  '[data-component-name="PaywallToDOM"]',
  '.footnote-anchor',
  '.digest-post-embed',
];

const NOISE_ATTRIBUTES = ['data-attrs', 'srcset', 'sizes', 'style', 'onclick', 'onerror', 'onload'];

const BLOCK_TAGS = new Set([
  'p', 'div', 'section', 'article', 'header', 'footer', 'figure', 'figcaption', 'blockquote', 'pre',
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'li', 'table', 'tr', 'hr', 'br', 'dt', 'dd',
]);

const TLDR_PREFIX = /^\s*(?:tl;\s?dr|tldr|tl\s?dr)\s*[:.\-—–]?\s*/i;

/** Cleans Substack-shaped (or any) post HTML for storage, cards and the search index. */
export function cleanPostHtml(input: string): CleanedContent {
  const root = parse(input, { comment: false, blockTextElements: { pre: true } });
  const hasPaywallMarker =
    root.querySelector('.paywall-jump') !== null || root.querySelector('[data-component-name="PaywallToDOM"]') !== null;
  const anchors = root.querySelectorAll('a[href]');
  const hrefs = anchors.map((a) => a.getAttribute('href') ?? '');
  // A link to a paper whose text is its title names the paper: the card can show it.
  const titles = new Map<string, string>();
  for (const anchor of anchors) {
    const [ref] = extractPaperRefs([anchor.getAttribute('href') ?? '']);
    const title = ref ? titleFromLinkText(anchor.text) : null;
    if (ref && title && !titles.has(`${ref.kind}:${ref.id}`)) titles.set(`${ref.kind}:${ref.id}`, title);
  }

  for (const selector of NOISE_SELECTORS) {
    for (const element of root.querySelectorAll(selector)) element.remove();
  }
  for (const element of root.querySelectorAll('*')) {
    for (const attribute of NOISE_ATTRIBUTES) {
      if (element.hasAttribute(attribute)) element.removeAttribute(attribute);
    }
  }

  const paragraphs: string[] = [];
  collectBlocks(root, paragraphs);
  const lines = paragraphs.map(normaliseSpace).filter((line) => line.length > 0);
  const text = lines.join('\n');

  return {
    html: root.toString().trim(),
    text,
    tldrSource: pickTldr(root),
    hasPaywallMarker,
    papers: extractPaperRefs([...hrefs, text]).map((ref) => {
      const title = titles.get(`${ref.kind}:${ref.id}`);
      return title ? { ...ref, title } : ref;
    }),
  };
}

/** Walks the tree, emitting one string per block so paragraphs never run together. */
function collectBlocks(node: Node, out: string[]): void {
  let current = '';
  const flush = () => {
    if (current.trim().length > 0) out.push(current);
    current = '';
  };
  const walk = (child: Node) => {
    if (child.nodeType === NodeType.TEXT_NODE) {
      current += child.text;
      return;
    }
    if (child.nodeType !== NodeType.ELEMENT_NODE) return;
    const element = child as HTMLElement;
    const tag = element.rawTagName?.toLowerCase() ?? '';
    if (BLOCK_TAGS.has(tag)) {
      flush();
      for (const grandchild of element.childNodes) walk(grandchild);
      flush();
    } else {
      for (const grandchild of element.childNodes) walk(grandchild);
    }
  };
  for (const child of node.childNodes) walk(child);
  flush();
}

function pickTldr(root: HTMLElement): string | null {
  const paragraphs = root
    .querySelectorAll('p')
    .filter((p) => !p.closest('figure') && !p.closest('blockquote'))
    .map((p) => normaliseSpace(p.text));
  const explicit = paragraphs.find((p) => TLDR_PREFIX.test(p) && p.replace(TLDR_PREFIX, '').length > 0);
  if (explicit) return explicit.replace(TLDR_PREFIX, '');
  return paragraphs.find((p) => p.length >= 40 && /[.!?…:]["”’)]?$/.test(p)) ?? paragraphs.find((p) => p.length > 0) ?? null;
}

/** Collapses whitespace and drops control and private-use characters (the search index's snippet markers). */
export function normaliseSpace(value: string): string {
  return value
    .replace(/[\s\u00A0\u200B]+/g, ' ')
    .replace(/[\u0000-\u001F\u007F-\u009F\uE000-\uF8FF]/g, '')
    .trim();
}
