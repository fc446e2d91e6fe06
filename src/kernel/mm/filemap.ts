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
    for (let i = 0; i < pages; i++) {
      const shmem = (kind & FF_SHMEM) !== 0;
      const pfn = alloc_page(s, PGF_LRU | (shmem ? PGF_SWAPBACKED : PGF_UPTODATE));
      page_set_mapping(s, pfn, f, i);
      page_set_data(s, pfn, 0);
      filemap_set(s, f, i, pfn);
    }
    return f;
  }
  return -1;
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

/** generic_perform_write() of one page: the page-cache page gets new content. */
export function file_write_page(s: KState, f: number, index: number, wid: number): boolean {
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
