// CRC-32 (IEEE 802.3, the polynomial of zlib, PNG and gzip), over one or more byte chunks: the
// checkpoint checksum and the PNG chunk check use it (browser-safe; Node 20's zlib has none).

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

export function crc32(chunks: Iterable<Uint8Array>): number {
  let c = 0xffffffff;
  for (const bytes of chunks) for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
