/**
 * Decodes a feed body: charset from the Content-Type header, then the XML declaration, then UTF-8.
 * Unknown labels fall back to UTF-8 rather than failing the poll.
 */
export function decodeFeedBody(bytes: Uint8Array, contentType: string | null): string {
  const label = charsetFromContentType(contentType) ?? charsetFromXmlDeclaration(bytes) ?? 'utf-8';
  try {
    return new TextDecoder(label).decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

export function charsetFromContentType(contentType: string | null): string | null {
  if (!contentType) return null;
  const match = /;\s*charset\s*=\s*"?([A-Za-z0-9._:-]{1,40})"?/i.exec(contentType);
  return match?.[1]?.toLowerCase() ?? null;
}

function charsetFromXmlDeclaration(bytes: Uint8Array): string | null {
  // The declaration is ASCII and must come first; 200 bytes is plenty and keeps this cheap.
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 200));
  const match = /^\s*(?:\uFEFF)?<\?xml[^>]{0,150}?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']/.exec(head);
  return match?.[1]?.toLowerCase() ?? null;
}
