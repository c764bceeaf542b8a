// How error messages show the start of a file that is not what it should be (a JSON file given as
// a checkpoint, a GIF as a PNG): printable text as text, anything else as its first bytes in hex.

/** The file's first bytes, quoted when they are text ('{\n  "protocol"...'), else hex (47 49 46 38 ...). */
export function fileStart(bytes: Uint8Array): string {
  if (bytes.byteLength === 0) return 'nothing: empty file';
  const head = bytes.subarray(0, 24);
  const more = bytes.byteLength > head.length ? '...' : '';
  const escapes: Record<number, string> = { 9: '\\t', 10: '\\n', 13: '\\r' };
  if (head.every((b) => (b >= 0x20 && b < 0x7f) || b in escapes)) return `'${Array.from(head, (b) => escapes[b] ?? String.fromCharCode(b)).join('')}${more}'`;
  return Array.from(head.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ') + (bytes.byteLength > 8 ? ' ...' : '');
}
