/**
 * Human-readable views of a state, for --trace and the visualizer: each
 * live page with its counts and flags, who maps it and who else holds it.
 */
import { code_text } from '../model/content.js';
import type { KState } from '../model/layout.js';
import {
  ZERO_PFN,
  PGF_ALLOC,
  PGF_ANON,
  PGF_ANON_EXCLUSIVE,
  FF_HUGETLB,
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
  PGF_PARTIALLY_MAPPED,
  PGF_MMIDS_SHARED,
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
  page_test,
  page_pincount,
  pmd_nr,
  pmd_mapped_huge,
  pmdp_get,
  pudp_get,
  pud_nr,
  folio_test_large,
  folio_head,
  folio_nr_pages,
  folio_order,
  folio_entire_mapcount,
  folio_large_mapcount,
  folio_mm_id,
  folio_mm_id_mapcount,
} from '../model/mm_types.js';
import { is_huge_zero_pmd, pmd_pfn, pmd_write, pmd_dirty, pmd_uffd_wp, pmd_trans_huge } from '../model/pmd.js';
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
import { refs_used, ref_owner, ref_kind, ref_foll, ref_pfn } from '../model/refs.js';
import { follToString } from '../kernel/mm/gup.js';
import { nr_threads, thread_get, DF_WRITE_LOCK } from '../model/threads.js';
import {
  TH_OP,
  TH_MM,
  TH_VA,
  TH_I,
  TH_N,
  TH_FOLL,
  TH_DONE,
  THOP_NONE,
  THOP_MEM_WRITE,
  THOP_FORK,
  THOP_ZAP_FLUSH,
  FORK_STOP_COPY,
  FORK_PASSED_STORE,
  THOP_USER_FAULT,
  THOP_DIO_FAULT,
  THOP_GUP_FAST,
  THOP_COLLAPSE,
  THOP_DEFERRED_FLUSH,
  THOP_COW_COPY,
  THOP_SWAPIN,
  TH_TLB_VA,
  TH_TLB_PFN,
  TH_TASK,
  TH_TRIES,
  UF_WOKEN,
} from '../model/layout.js';
import type { Resolved } from './resolve.js';
import { pageName, seenStep } from './run.js';

/** What a reference is, as the trace names its holder: io_uring buffer, O_DIRECT, or its FOLL flags. */
export function refKindName(kind: number, foll: number): string {
  return kind === REF_IOURING
    ? 'io_uring buffer'
    : kind === REF_ODIRECT
      ? 'O_DIRECT'
      : kind === REF_TRANSIENT
        ? 'transient ref'
        : kind === REF_GUP_PIN || kind === REF_GUP_GET
          ? follToString(foll)
          : '?';
}

/** One line per thing that exists, keyed so two states can be compared. */
export function describeState(r: Resolved, s: KState): Map<string, string> {
  const out = new Map<string, string>();
  const T = (t: number) => r.tasks[t] ?? `task${t}`;
  const label = (st: number) => code_text(st, r.labels);
  // who maps what: PTEs per page, huge PMDs per folio head (one walk per mm)
  const maps = new Map<number, string[]>();
  const pmdMaps = new Map<number, string[]>();
  const relMaps = new Map<number, string[]>();
  const nrPmd = pmd_nr(s);
  const nrPud = pud_nr(s);
  for (let t = 0; t < s.L.geo.tasks; t++) {
    if (!task_alive(s, t)) continue;
    for (let va = 0; va < s.L.geo.vpages; va++) {
      if (nrPud > 0 && (va & (nrPud - 1)) === 0 && pmd_trans_huge(pudp_get(s, t, va))) {
        // a 1 GiB hugetlb page, mapped by a PUD leaf
        const pud = pudp_get(s, t, va);
        const l = pmdMaps.get(pmd_pfn(pud)) ?? [];
        l.push(`${T(t)}:${pageName(r, va)}.. PUD ${pmd_write(pud) ? 'W' : 'R'}${pmd_dirty(pud) ? 'D' : ''}`);
        pmdMaps.set(pmd_pfn(pud), l);
        va += nrPud - 1;
        continue;
      }
      if (nrPmd > 0 && (va & (nrPmd - 1)) === 0 && pmd_mapped_huge(s, t, va)) {
        const pmd = pmdp_get(s, t, va);
        if (!is_huge_zero_pmd(pmd)) {
          const l = pmdMaps.get(pmd_pfn(pmd)) ?? [];
          l.push(
            `${T(t)}:${pageName(r, va)}.. PMD ${pmd_write(pmd) ? 'W' : 'R'}${pmd_dirty(pmd) ? 'D' : ''}${pmd_uffd_wp(pmd) ? ' uffd-wp' : ''}`,
          );
          pmdMaps.set(pmd_pfn(pmd), l);
        }
        va += nrPmd - 1;
        continue;
      }
      const pte = ptep_get(s, t, va);
      if (!pte_present(pte) || pte_pfn(pte) === ZERO_PFN) continue;
      const bits = `${pte_write(pte) ? 'W' : 'R'}${pte_dirty(pte) ? 'D' : ''}${pte_uffd_wp(pte) ? ' uffd-wp' : ''}`;
      const l = maps.get(pte_pfn(pte)) ?? [];
      l.push(`${T(t)}:${pageName(r, va)} ${bits}`);
      maps.set(pte_pfn(pte), l);
      if (folio_test_large(s, pte_pfn(pte))) {
        const off = pte_pfn(pte) - folio_head(s, pte_pfn(pte));
        const rl = relMaps.get(pte_pfn(pte)) ?? [];
        rl.push(`${T(t)}:${pageName(r, va - off)}@ ${bits}`);
        relMaps.set(pte_pfn(pte), rl);
      }
    }
  }
  // who holds each frame besides page tables: one pass, not one per page (a 1 GiB folio has 262144)
  // (a frame held once, the usual case, keeps its holder's name without an array around it)
  const heldBy = new Map<number, string | string[]>();
  const hold = (pfn: number, what: string) => {
    const l = heldBy.get(pfn);
    if (l === undefined) heldBy.set(pfn, what);
    else if (typeof l === 'string') heldBy.set(pfn, [l, what]);
    else l.push(what);
  };
  for (let p = 0; p < s.L.geo.pipes; p++) {
    if (!pipe_open(s, p)) continue;
    for (let i = 0; i < pipe_nbuf(s, p); i++) hold(pipe_buf(s, p, i).pfn, `pipe ${r.pipes[p] ?? p}`);
  }
  // one name per kind of holder, not one string per reference (a 1 GiB buffer is 262144 of them)
  const refNames = new Map<number, string>();
  for (const ri of refs_used(s)) {
    const x = { owner: ref_owner(s, ri), kind: ref_kind(s, ri), foll: ref_foll(s, ri) };
    const id = (x.owner * 8 + x.kind) * 2 ** 32 + x.foll;
    let name = refNames.get(id);
    if (name === undefined) {
      const k = refKindName(x.kind, x.foll);
      name = `${k} of ${T(x.owner)}`;
      refNames.set(id, name);
    }
    hold(ref_pfn(s, ri), name);
  }
  for (let i = 0; i < fbatch_len(s, 'add'); i++) hold(fbatch_at(s, 'add', i), 'LRU batch');
  for (let i = 0; i < fbatch_len(s, 'activate'); i++) hold(fbatch_at(s, 'activate', i), 'activate batch');
  const NONE: readonly string[] = [];
  const holdersOf = (pfn: number): readonly string[] => {
    const l = heldBy.get(pfn);
    return l === undefined ? NONE : typeof l === 'string' ? [l] : l;
  };
  const flagText = (pfn: number, f: number): string[] => {
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
    if (f & PGF_PARTIALLY_MAPPED) flags.push('partially-mapped');
    if (f & PGF_MMIDS_SHARED) flags.push('mm-ids-shared');
    const file = page_file(s, pfn);
    if (file >= 0) flags.push(`pagecache:${r.files[file]?.name ?? `shmem${file}`}[${page_index(s, pfn)}]`);
    return flags;
  };
  for (let pfn = ZERO_PFN + 1; pfn < s.L.geo.frames; pfn++) {
    const f = page_flags(s, pfn);
    if ((f & PGF_ALLOC) === 0) continue;
    if (folio_test_large(s, pfn)) {
      // a large folio: one line, its pages as runs
      const nr = folio_nr_pages(s, pfn);
      const ids: string[] = [];
      for (const i of [0, 1] as const)
        if (folio_mm_id(s, pfn, i) >= 0) ids.push(`${T(folio_mm_id(s, pfn, i))}:${folio_mm_id_mapcount(s, pfn, i)}`);
      // pages with the same text as one run, built as the pages go by: the text is made only
      // where it changes (a 1 GiB folio has 262144 pages, mostly alike)
      const pageRuns: string[] = [];
      let runFirst = -1;
      let runLast = -1;
      let runText = '';
      let prevMap = NaN;
      let prevPae = false;
      let prevWid = NaN;
      let prevLabel = '';
      let prevRm: string[] | undefined;
      const endRun = () => {
        if (runFirst >= 0) pageRuns.push(`pfn#${runLast > runFirst ? `${runFirst}..${runLast}` : runFirst}: ${runText}`);
      };
      // holder -> the folio's pages it holds as ascending ranges, so 512 pins of one buffer read as one range
      const held = new Map<string, { ranges: [number, number][]; refs: number; frames: number }>();
      const addHeld = (h: string, p: number) => {
        let e = held.get(h);
        if (!e) held.set(h, (e = { ranges: [], refs: 0, frames: 0 }));
        e.refs++;
        const last = e.ranges[e.ranges.length - 1];
        if (last && last[1] === p) return;
        e.frames++;
        if (last && last[1] === p - 1) last[1] = p;
        else e.ranges.push([p, p]);
      };
      for (let i = 0; i < nr; i++) {
        const p = pfn + i;
        const map = page_mapcount(s, p);
        const pae = page_test(s, p, PGF_ANON_EXCLUSIVE);
        const wid = page_data(s, p);
        const lb = wid === prevWid ? prevLabel : label(seenStep(s, wid));
        // mappings relative to the page's place in the folio, so a run of pages mapped in order reads as one
        const rm = relMaps.get(p);
        if (runFirst >= 0 && !rm && !prevRm && map === prevMap && pae === prevPae && lb === prevLabel) runLast = p;
        else {
          const text = `map ${map}${pae ? ' PAE' : ''} data ${lb}${rm ? ` by ${rm.map((x) => x.replace('@', '+i')).join(', ')}` : ''}`;
          if (runFirst >= 0 && text === runText) runLast = p;
          else {
            endRun();
            runFirst = runLast = p;
            runText = text;
          }
        }
        prevMap = map;
        prevPae = pae;
        prevWid = wid;
        prevLabel = lb;
        prevRm = rm;
        const hs = heldBy.get(p);
        if (typeof hs === 'string') addHeld(hs, p);
        else if (hs) for (const h of hs) addHeld(h, p);
      }
      endRun();
      const holders = [...held].map(
        ([h, e]) =>
          `${h} (pfn#${e.ranges.map(([a, b]) => (b > a ? `${a}..${b}` : String(a))).join(', ')}${e.refs > e.frames ? `: ${e.refs} references` : ''})`,
      );
      const pm = pmdMaps.get(pfn) ?? [];
      out.set(
        `folio pfn#${pfn}`,
        `order ${folio_order(s, pfn)} ref ${page_ref_count(s, pfn)} entire ${folio_entire_mapcount(s, pfn)} large ${folio_large_mapcount(s, pfn)} pin ${page_pincount(s, pfn)}` +
          `${ids.length ? ` mm-ids ${ids.join(' ')}` : ''} [${flagText(pfn, f & ~PGF_ANON_EXCLUSIVE).join(' ')}]` +
          `${pm.length ? ` PMD-mapped by ${pm.join(', ')}` : ''}; ${pageRuns.join('; ')}${holders.length ? `; held by ${holders.join(', ')}` : ''}`,
      );
      pfn += nr - 1;
      continue;
    }
    const m = maps.get(pfn) ?? [];
    const holders = holdersOf(pfn);
    out.set(
      `pfn#${pfn}`,
      `ref ${page_ref_count(s, pfn)} map ${page_mapcount(s, pfn)} [${flagText(pfn, f).join(' ')}] data ${label(seenStep(s, page_data(s, pfn)))}` +
        `${m.length ? ` mapped by ${m.join(', ')}` : ''}${holders.length ? `; held by ${holders.join(', ')}` : ''}`,
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
      if (nrPmd > 0 && (va & (nrPmd - 1)) === 0 && pmd_mapped_huge(s, t, va) && is_huge_zero_pmd(pmdp_get(s, t, va))) {
        zero.push(`${pageName(r, va)}.. (huge zero page)`);
        va += nrPmd - 1;
        continue;
      }
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
    out.set(`swap ${slot}`, `count ${swap_count(s, slot)}${swap_cache_pfn(s, slot) ? ` cached in pfn#${swap_cache_pfn(s, slot)}` : ''}`);
  }
  for (let f = 0; f < s.L.geo.files; f++) {
    if ((file_flags(s, f) & FF_OPEN) === 0) continue;
    const pages: string[] = [];
    if (file_flags(s, f) & FF_HUGETLB) {
      // a hugetlbfs file: one entry per huge page (its pages are one folio's, in order)
      const nr = pmd_nr(s);
      for (let i = 0; i < file_size(s, f); i += nr) {
        const pfn = filemap_get(s, f, i);
        pages.push(pfn ? `pfn#${pfn}..${pfn + nr - 1}` : 'none');
      }
    } else for (let i = 0; i < file_size(s, f); i++) pages.push(`pfn#${filemap_get(s, f, i)}`);
    out.set(`file ${r.files[f]?.name ?? `shmem${f}`}`, pages.join(', '));
  }
  // threads stopped in a window (src/model/threads.ts): where, and the lock they hold
  for (let th = 0; th < nr_threads(s); th++) {
    // the CPU's TLB entry, where the state keeps them (a stale one is where a store may still land)
    const tlbVa = thread_get(s, th, TH_TLB_VA) - 1;
    if (tlbVa >= 0) {
      const pfn = thread_get(s, th, TH_TLB_PFN);
      const pte = ptep_get(s, thread_get(s, th, TH_TASK) - 1, tlbVa);
      const stale = !pte_present(pte) || pte_pfn(pte) !== pfn || !pte_write(pte);
      out.set(
        `tlb ${r.slotNames[th] ?? `slot${th}`}`,
        `${pageName(r, tlbVa)} -> pfn#${pfn} writable${stale ? ' (stale: the PTE no longer allows it)' : ''}`,
      );
    }
    const op = thread_get(s, th, TH_OP);
    if (op === THOP_NONE) continue;
    const mm = T(thread_get(s, th, TH_MM));
    const whole = op === THOP_FORK || op === THOP_COW_COPY || op === THOP_DEFERRED_FLUSH || op === THOP_SWAPIN || op === THOP_ZAP_FLUSH;
    const at = pageName(r, thread_get(s, th, TH_VA) + (whole ? 0 : thread_get(s, th, TH_I)));
    out.set(
      `thread ${r.slotNames[th] ?? `slot${th}`}`,
      op === THOP_MEM_WRITE
        ? `stopped in gup-retry: /proc/PID/mem write of ${mm}:${at} after a fault, retries with ${follToString(thread_get(s, th, TH_FOLL))}; holds ${mm}'s mmap_lock for read`
        : op === THOP_USER_FAULT || op === THOP_DIO_FAULT
          ? `stopped in uffd: ${op === THOP_USER_FAULT ? 'its store to' : `GUP of its O_DIRECT ${thread_get(s, th, TH_TRIES) ? 'read into' : 'write from'}`} ${mm}:${at} sleeps in handle_userfault(), the monitor holds the fault; ${thread_get(s, th, TH_DONE) & UF_WOKEN ? 'woken, goes on at its resume' : 'not woken yet'}; holds no lock (mmap_lock dropped)`
          : op === THOP_GUP_FAST
            ? `stopped in gup-fast: read the PTE of ${mm}:${at} (pfn#${pte_pfn(thread_get(s, th, TH_TRIES))}) with interrupts off, has not grabbed the page; holds no lock`
            : op === THOP_COLLAPSE
              ? `stopped in collapse: the PMD over ${mm}:${at} cleared and its pages isolated, new THP pfn#${thread_get(s, th, TH_N)} not filled yet; holds ${mm}'s mmap_lock for write`
              : op === THOP_DEFERRED_FLUSH
                ? thread_get(s, th, TH_I) === 2
                  ? `stopped in deferred-flush: the clear_refs soft-dirty walk write-protected ${mm}'s PTEs, TLB flush pending; holds ${mm}'s mmap_lock for ${thread_get(s, th, TH_DONE) & DF_WRITE_LOCK ? 'write' : 'read'}`
                  : `stopped in deferred-flush: UFFDIO_WRITEPROTECT ${thread_get(s, th, TH_I) ? 'protected' : 'unprotected'} ${mm}:${at}${thread_get(s, th, TH_N) > 1 ? ` (${thread_get(s, th, TH_N)} pages)` : ''}, TLB flush pending; holds ${mm}'s mmap_lock for read`
                : op === THOP_SWAPIN
                  ? `stopped in swapin: the fault on ${mm}:${at} read slot ${pte_swp_slot(thread_get(s, th, TH_I))} into pfn#${thread_get(s, th, TH_N)} past the swap cache${thread_get(s, th, TH_DONE) & 2 ? ' (holding its SWAP_HAS_CACHE)' : ''}, PTE not updated yet; holds ${mm}'s mmap_lock for read`
                  : op === THOP_ZAP_FLUSH
                    ? `stopped in zap-flush: MADV_DONTNEED cleared the PTE of ${mm}:${at}${thread_get(s, th, TH_N) ? ` and holds pfn#${thread_get(s, th, TH_N)} in its gather` : ''}, TLB flush and free pending; holds ${mm}'s mmap_lock for read`
                    : op === THOP_COW_COPY
                      ? `stopped in cow-copy: the write fault on ${mm}:${at} copied pfn#${pte_pfn(thread_get(s, th, TH_I))} to pfn#${thread_get(s, th, TH_N)}, PTE not updated yet; holds ${mm}'s mmap_lock for read`
                      : thread_get(s, th, TH_FOLL) === FORK_STOP_COPY
                        ? `stopped in copy-present-page: fork of ${T(thread_get(s, th, TH_N))} gave it a copy of ${mm}:${at}, the next page not reached yet${thread_get(s, th, TH_DONE) & FORK_PASSED_STORE ? ' (a store reached a page it copied)' : ''}; holds ${mm}'s mmap_lock for write`
                        : `stopped in copy-present-pte: fork of ${T(thread_get(s, th, TH_N))} shared ${mm}:${at}, its PTE not write-protected yet${thread_get(s, th, TH_DONE) & FORK_PASSED_STORE ? ' (a store reached a page it copied)' : ''}; holds ${mm}'s mmap_lock for write`,
    );
  }
  return out;
}

/** Step `i` (from 0) as "P0: write at=mem[0]": its process, operation and arguments as written. */
export function stepLine(r: Resolved, i: number): string {
  const st = r.steps[i]?.step;
  if (!st) return `step ${i + 1}`;
  const args = Object.entries(st.args).map(
    ([k, v]) => `${k}=${typeof v === 'object' && v && 'text' in v ? (v as { text: string }).text : JSON.stringify(v)}`,
  );
  return `${st.proc}: ${st.op} ${args.join(' ')}`.trim();
}
