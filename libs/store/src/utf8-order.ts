/**
 * Orders strings by their UTF-8 bytes (equivalently, by code point), as etcd orders keys.
 * JavaScript's `<` compares UTF-16 code units, which puts astral characters (stored as
 * surrogates 0xD800–0xDFFF) before U+E000–U+FFFF; UTF-8 puts them after.
 */
export function compareUtf8(a: string, b: string): number {
  const shared = Math.min(a.length, b.length);
  for (let i = 0; i < shared; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xIsSurrogate = x >= 0xd800 && x <= 0xdfff;
    const yIsSurrogate = y >= 0xd800 && y <= 0xdfff;
    if (xIsSurrogate !== yIsSurrogate) return xIsSurrogate ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}
