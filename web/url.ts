/**
 * The viewer's state in the URL's fragment, so a link shows the same
 * picture: `s` a shipped scenario (path, #instance of a template), `y` a
 * scenario's own text (base64url), `f` a file the local server serves,
 * `k` one or two kernels, `step`, and `m` the matrix of a directory.
 */
export interface ViewLink {
  s?: string;
  y?: string;
  f?: string;
  k: string[];
  step?: number;
  m?: string;
}

export function parseLink(hash: string): ViewLink {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  const out: ViewLink = { k: (p.get('k') ?? '').split(',').filter(Boolean).slice(0, 2) };
  for (const key of ['s', 'y', 'f', 'm'] as const) {
    const v = p.get(key);
    if (v) out[key] = v;
  }
  const step = Number(p.get('step'));
  if (p.has('step') && Number.isInteger(step) && step >= 0) out.step = step;
  return out;
}

export function formatLink(l: ViewLink): string {
  const p = new URLSearchParams();
  if (l.s) p.set('s', l.s);
  else if (l.y) p.set('y', l.y);
  else if (l.f) p.set('f', l.f);
  if (l.k.length) p.set('k', l.k.join(','));
  if (l.step !== undefined) p.set('step', String(l.step));
  if (l.m) p.set('m', l.m);
  return `#${p.toString()}`;
}

/** UTF-8 text as base64url (a scenario of one's own in a link). */
export function encodeText(text: string): string {
  let bin = '';
  for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function decodeText(b64: string): string {
  const bin = atob(b64.replace(/-/g, '+').replace(/_/g, '/'));
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}
