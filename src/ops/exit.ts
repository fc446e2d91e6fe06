/** exit(): exit_mmap, close files (kernel/exit.c). */
import { defineOp, ok } from './types.js';
import { do_exit } from '../kernel/kernel/exit.js';
import { exit_threads, nr_threads, thread_task, thread_stopped, thread_take } from '../model/threads.js';
import { folio_put } from '../kernel/mm/swap.js';
import { THOP_COW_COPY, THOP_DEFERRED_FLUSH, THOP_SWAPIN, THOP_ZAP_FLUSH } from '../model/layout.js';
import { zap_flush_resume_thread } from './madvise.js';
import { cow_copy_finish } from './write.js';
import { writeprotect_resume_thread } from './uffd.js';
import { always, perProcess } from './explore.js';

export const exit = defineOp({
  name: 'exit',
  doc: 'exit(): exit_mmap, close files',
  primary: null,
  args: {},
  resolve(_a, cx) {
    cx.endTask();
    return {};
  },
  print: () => 'exit',
  // exit_mmap() cannot run while another process's thread is inside this mm (mmget in __access_remote_vm)
  mmapWrite: true,
  apply(s, ctx, t) {
    // a COW fault, a UFFDIO_WRITEPROTECT or a zap a thread stopped in does not check for signals: it ends first
    for (let th = 0; th < nr_threads(s); th++) {
      if (thread_task(s, th) !== t) continue;
      const op = thread_stopped(s, th);
      if (op === THOP_COW_COPY) cow_copy_finish(s, ctx, t, th);
      else if (op === THOP_DEFERRED_FLUSH) writeprotect_resume_thread(s, ctx, t, th);
      else if (op === THOP_ZAP_FLUSH) zap_flush_resume_thread(s, ctx, th);
      // (a swap fault that read its page: the process is going, the page is dropped, out_release)
      else if (op === THOP_SWAPIN) folio_put(s, thread_take(s, th).n);
    }
    exit_threads(s, t);
    do_exit(s, ctx, t);
    return ok();
  },
  exec: { args: [], encode: () => [] },
  fuzz: {
    weight: 2,
    host: true,
    onRegion: false,
    gen: (_c, x) => (x.endProc() ? 'exit' : null),
  },
  explore: [perProcess('exit', 210, 'exit()', (t) => [{ t, args: () => 'exit', enabled: always }])],
});
