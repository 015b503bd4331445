/**
 * Decodes a feed body as browsers do (WHATWG "decode"): a byte-order mark decides first and overrides every
 * label; then the charset from the Content-Type header, then the XML declaration, then UTF-8. Unknown labels
 * fall back to UTF-8 rather than failing the poll. The BOM itself is never part of the text.
 */
export function decodeFeedBody(bytes: Uint8Array, contentType: string | null): string {
  const bom = encodingFromBom(bytes);
  if (bom) return new TextDecoder(bom.encoding).decode(bytes.subarray(bom.length));
  const label = charsetFromContentType(contentType) ?? charsetFromXmlDeclaration(bytes) ?? 'utf-8';
  try {
    return new TextDecoder(label).decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

/**
 * The encoding a byte-order mark names, and the mark's length: UTF-8 (EF BB BF), UTF-16BE (FE FF) or
 * UTF-16LE (FF FE), as in the WHATWG Encoding Standard's BOM sniff; null without one.
 */
export function encodingFromBom(bytes: Uint8Array): { encoding: 'utf-8' | 'utf-16be' | 'utf-16le'; length: number } | null {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return { encoding: 'utf-8', length: 3 };
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return { encoding: 'utf-16be', length: 2 };
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return { encoding: 'utf-16le', length: 2 };
  return null;
}

export function charsetFromContentType(contentType: string | null): string | null {
  if (!contentType) return null;
  const match = /;\s*charset\s*=\s*"?([A-Za-z0-9._:-]{1,40})"?/i.exec(contentType);
  return match?.[1]?.toLowerCase() ?? null;
}

function charsetFromXmlDeclaration(bytes: Uint8Array): string | null {
  // The declaration is ASCII and must come first; 200 bytes is plenty and keeps this cheap.
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 200));
  const match = /^\s*<\?xml[^>]{0,150}?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']/.exec(head);
  return match?.[1]?.toLowerCase() ?? null;
}
