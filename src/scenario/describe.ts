/**
 * Human-readable views of a state, for --trace and the visualizer: each
 * live page with its counts and flags, who maps it and who else holds it.
 */
import type { KState } from '../model/layout.js';
import {
  ZERO_PFN,
  PGF_ALLOC,
  PGF_ANON,
  PGF_ANON_EXCLUSIVE,
  PGF_SWAPCACHE,
  PGF_LRU,
  PGF_LOCKED,
  PGF_KSM,
  PGF_DIRTY,
  MMF_HAS_PINNED,
  REF_GUP_GET,
  REF_GUP_PIN,
  REF_IOURING,
  REF_ODIRECT,
  REF_TRANSIENT,
  FF_OPEN,
  PGF_REFERENCED,
  PGF_ACTIVE,
} from '../model/layout.js';
import {
  fbatch_len,
  fbatch_at,
  page_flags,
  page_ref_count,
  page_mapcount,
  page_data,
  page_private,
  page_file,
  page_index,
  task_alive,
  ptep_get,
  pipe_open,
  pipe_nbuf,
  pipe_buf,
  mm_flags,
  file_flags,
  file_size,
  filemap_get,
  swap_used,
  swap_count,
  swap_cache_pfn,
} from '../model/mm_types.js';
import {
  pte_present,
  pte_pfn,
  pte_write,
  pte_dirty,
  pte_uffd_wp,
  is_swap_pte,
  pte_swp_slot,
  pte_swp_exclusive,
  is_pte_marker,
  pte_none,
} from '../model/pte.js';
import { refs_where, ref_get } from '../model/refs.js';
import { follToString } from '../kernel/mm/gup.js';
import type { Resolved } from './resolve.js';
import { pageName, seenStep } from './run.js';

/** One line per thing that exists, keyed so two states can be compared. */
export function describeState(r: Resolved, s: KState): Map<string, string> {
  const out = new Map<string, string>();
  const T = (t: number) => r.tasks[t] ?? `task${t}`;
  const label = (st: number) => {
    if (st === 0) return 'zero';
    for (const [l, i] of r.labels) if (i === st) return `step ${st} (${l})`;
    return `step ${st}`;
  };
  for (let pfn = ZERO_PFN + 1; pfn < s.L.geo.frames; pfn++) {
    const f = page_flags(s, pfn);
    if ((f & PGF_ALLOC) === 0) continue;
    const flags: string[] = [];
    if (f & PGF_ANON) flags.push('anon');
    if (f & PGF_ANON_EXCLUSIVE) flags.push('PAE');
    if (f & PGF_SWAPCACHE) flags.push(`swapcache:${page_private(s, pfn)}`);
    if (f & PGF_LRU) flags.push('lru');
    if (f & PGF_ACTIVE) flags.push('active');
    if (f & PGF_REFERENCED) flags.push('referenced');
    if (f & PGF_DIRTY) flags.push('dirty');
    if (f & PGF_LOCKED) flags.push('locked');
    if (f & PGF_KSM) flags.push('ksm');
    const file = page_file(s, pfn);
    if (file >= 0) flags.push(`pagecache:${r.files[file]?.name ?? `shmem${file}`}[${page_index(s, pfn)}]`);
    const maps: string[] = [];
    for (let t = 0; t < s.L.geo.tasks; t++) {
      if (!task_alive(s, t)) continue;
      for (let va = 0; va < s.L.geo.vpages; va++) {
        const pte = ptep_get(s, t, va);
        if (pte_present(pte) && pte_pfn(pte) === pfn) {
          maps.push(
            `${T(t)}:${pageName(r, va)} ${pte_write(pte) ? 'W' : 'R'}${pte_dirty(pte) ? 'D' : ''}${pte_uffd_wp(pte) ? ' uffd-wp' : ''}`,
          );
        }
      }
    }
    const holders: string[] = [];
    for (let p = 0; p < s.L.geo.pipes; p++) {
      if (!pipe_open(s, p)) continue;
      for (let i = 0; i < pipe_nbuf(s, p); i++) if (pipe_buf(s, p, i).pfn === pfn) holders.push(`pipe ${r.pipes[p] ?? p}`);
    }
    for (const ri of refs_where(s, (x) => x.pfn === pfn)) {
      const x = ref_get(s, ri);
      const k =
        x.kind === REF_IOURING
          ? 'io_uring buffer'
          : x.kind === REF_ODIRECT
            ? 'O_DIRECT'
            : x.kind === REF_TRANSIENT
              ? 'transient ref'
              : x.kind === REF_GUP_PIN || x.kind === REF_GUP_GET
                ? follToString(x.foll)
                : '?';
      holders.push(`${k} of ${T(x.owner)}`);
    }
    for (let i = 0; i < fbatch_len(s, 'add'); i++) if (fbatch_at(s, 'add', i) === pfn) holders.push('LRU batch');
    for (let i = 0; i < fbatch_len(s, 'activate'); i++) if (fbatch_at(s, 'activate', i) === pfn) holders.push('activate batch');
    out.set(
      `page ${pfn}`,
      `ref ${page_ref_count(s, pfn)} map ${page_mapcount(s, pfn)} [${flags.join(' ')}] data ${label(seenStep(s, page_data(s, pfn)))}` +
        `${maps.length ? ` mapped by ${maps.join(', ')}` : ''}${holders.length ? `; held by ${holders.join(', ')}` : ''}`,
    );
  }
  for (let t = 0; t < s.L.geo.tasks; t++) {
    if (!task_alive(s, t)) continue;
    const ents: string[] = [];
    for (let va = 0; va < s.L.geo.vpages; va++) {
      const pte = ptep_get(s, t, va);
      if (pte_none(pte) || pte_present(pte)) continue;
      if (is_swap_pte(pte))
        ents.push(
          `${pageName(r, va)} swap:${pte_swp_slot(pte)}${pte_swp_exclusive(pte) ? ' excl' : ''}${pte_uffd_wp(pte) ? ' uffd-wp' : ''}`,
        );
      else if (is_pte_marker(pte)) ents.push(`${pageName(r, va)} uffd-wp marker`);
    }
    const zero: string[] = [];
    for (let va = 0; va < s.L.geo.vpages; va++) {
      const pte = ptep_get(s, t, va);
      if (pte_present(pte) && pte_pfn(pte) === ZERO_PFN) zero.push(pageName(r, va));
    }
    const mmf = mm_flags(s, t) & MMF_HAS_PINNED ? ' MMF_HAS_PINNED' : '';
    if (ents.length || zero.length || mmf) {
      out.set(
        `task ${T(t)}`,
        `${mmf.trim()}${zero.length ? ` zero page at ${zero.join(', ')}` : ''}${ents.length ? ` ${ents.join(', ')}` : ''}`.trim(),
      );
    }
  }
  for (let slot = 1; slot < s.L.geo.swapSlots; slot++) {
    if (!swap_used(s, slot)) continue;
    out.set(`swap ${slot}`, `count ${swap_count(s, slot)}${swap_cache_pfn(s, slot) ? ` cached in page ${swap_cache_pfn(s, slot)}` : ''}`);
  }
  for (let f = 0; f < s.L.geo.files; f++) {
    if ((file_flags(s, f) & FF_OPEN) === 0) continue;
    const pages: string[] = [];
    for (let i = 0; i < file_size(s, f); i++) pages.push(`page ${filemap_get(s, f, i)}`);
    out.set(`file ${r.files[f]?.name ?? `shmem${f}`}`, pages.join(', '));
  }
  return out;
}
