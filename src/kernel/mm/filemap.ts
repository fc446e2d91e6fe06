/**
 * mm/filemap.c and mm/shmem.c, reduced to what COW needs: files whose pages
 * all sit in the page cache (the executor creates them that way: memfd with
 * fallocate(), tmpfile written with zeroes), the fault handler that finds a
 * page, fault-around, and write()/read() on the file.
 */
import type { KState } from '../../model/layout.js';
import { FF_OPEN, PGF_LRU, PGF_UPTODATE, PGF_SWAPBACKED, PGF_DIRTY, FF_SHMEM, FF_HUGETLB, FF_SHMEM_ANON } from '../../model/layout.js';
import { hugetlbfs_fallocate } from './hugetlb.js';
import {
  file_init,
  file_flags,
  file_size,
  file_set_size,
  filemap_get,
  filemap_set,
  page_set_mapping,
  page_set_data,
  page_data,
  page_set,
  page_test,
} from '../../model/mm_types.js';
import { alloc_page } from './page_alloc.js';

/**
 * Creates a file of `pages` zero-filled pages, all in the page cache.
 * Returns the file id or -1. A tmpfile's pages were written (uptodate); a
 * shmem file's (memfd after fallocate(), the object behind
 * MAP_SHARED|MAP_ANONYMOUS) are not uptodate until first faulted or written
 * (shmem_fallocate() leaves them so, and shmem zeroes them on first use),
 * which keeps them out of fault-around.
 */
export function file_create(s: KState, kind: number, pages: number): number {
  for (let f = 0; f < s.L.geo.files; f++) {
    if ((file_flags(s, f) & FF_OPEN) !== 0) continue;
    file_init(s, f, FF_OPEN | kind, pages);
    // a MFD_HUGETLB memfd is fallocated whole; the file of MAP_SHARED|MAP_HUGETLB starts empty
    if (kind & FF_HUGETLB) return kind & FF_SHMEM_ANON || hugetlbfs_fallocate(s, f, pages) >= 0 ? f : -1;
    for (let i = 0; i < pages; i++) add_zero_page(s, f, i, kind);
    return f;
  }
  return -1;
}

/** A zero-filled page at `index` of file `f`, in the page cache (uptodate for a tmpfile, not yet for shmem). */
function add_zero_page(s: KState, f: number, index: number, kind: number): void {
  const pfn = alloc_page(s, PGF_LRU | (kind & FF_SHMEM ? PGF_SWAPBACKED : PGF_UPTODATE));
  page_set_mapping(s, pfn, f, index);
  page_set_data(s, pfn, 0);
  filemap_set(s, f, index, pfn);
}

/**
 * A write past EOF (generic_perform_write(), shmem_write_begin()): i_size
 * grows to `pages`, the pages between read as zeroes. Bounded by the
 * geometry's file pages (every region's size, so a write of any region at
 * offset 0 fits); a hugetlbfs file is never written with write(). Whether
 * it could grow.
 */
function file_grow(s: KState, f: number, pages: number): boolean {
  const kind = file_flags(s, f);
  if (kind & FF_HUGETLB || pages > s.L.geo.filePages) return false;
  for (let i = file_size(s, f); i < pages; i++) add_zero_page(s, f, i, kind);
  file_set_size(s, f, pages);
  return true;
}

/** filemap_fault() / shmem_fault(): the page-cache page for `index` (now uptodate), 0 past EOF (SIGBUS). */
export function filemap_fault(s: KState, f: number, index: number): number {
  if (index < 0 || index >= file_size(s, f)) return 0;
  const pfn = filemap_get(s, f, index);
  if (pfn !== 0) page_set(s, pfn, PGF_UPTODATE);
  return pfn;
}

/** The page-cache page for `index` if it is uptodate (filemap_map_pages() -> next_uptodate_folio()), else 0. */
export function filemap_get_uptodate(s: KState, f: number, index: number): number {
  if (index < 0 || index >= file_size(s, f)) return 0;
  const pfn = filemap_get(s, f, index);
  return pfn !== 0 && page_test(s, pfn, PGF_UPTODATE) ? pfn : 0;
}

/** generic_perform_write() of one page: the page-cache page gets new content (past EOF, the file grows first). */
export function file_write_page(s: KState, f: number, index: number, wid: number): boolean {
  if (index >= file_size(s, f) && !file_grow(s, f, index + 1)) return false;
  const pfn = filemap_fault(s, f, index);
  if (pfn === 0) return false;
  page_set_data(s, pfn, wid);
  page_set(s, pfn, PGF_DIRTY);
  return true;
}

/** filemap_read() / shmem_file_read_iter() of one page: its content (a hole reads as zeroes), or -1 past EOF. */
export function file_read_page(s: KState, f: number, index: number): number {
  if (index < 0 || index >= file_size(s, f)) return -1;
  const pfn = filemap_get(s, f, index);
  return pfn === 0 ? -1 : page_data(s, pfn);
}
