/** pwrite() and pread() of a scenario's file (mm/filemap.c, mm/shmem.c). */
import { z } from 'zod';
import { defineOp, ok } from './types.js';
import { name } from './args.js';
import { new_shared_write } from '../model/writes.js';
import { file_read_page, file_write_page } from '../kernel/mm/filemap.js';
import { trace } from '../kernel/ctx.js';
import { EINVAL } from '../kernel/errno.js';

const fileRange = { file: name, offset: z.number().int().min(0).default(0), pages: z.number().int().min(1).default(1) };

export const fileWrite = defineOp({
  name: 'file-write',
  doc: 'pwrite() to a file',
  primary: 'file',
  args: fileRange,
  resolve(a, cx) {
    const f = cx.file(a.file);
    if (a.offset + a.pages > f.pages) cx.fail(`file-write beyond the ${f.pages} page(s) of file ${a.file}`);
    return { file: f.id, index: a.offset, pages: a.pages };
  },
  print: (m, cx) => ({
    'file-write': cx.file(m.file),
    ...(m.index ? { offset: m.index } : {}),
    ...(m.pages !== 1 ? { pages: m.pages } : {}),
  }),
  apply(s, ctx, t, m) {
    const w = new_shared_write(s, t, ctx.step, -1);
    for (let i = 0; i < m.pages; i++) if (!file_write_page(s, m.file, m.index + i, w)) return ok(i === 0 ? -EINVAL : i);
    trace(ctx, 'generic_perform_write', `${m.pages} page(s) of file ${m.file} written`);
    return ok(m.pages);
  },
  exec: { args: ['file', 'index', 'pages', 'tag'], encode: (m, step) => [m.file, m.index, m.pages, step] },
  fuzz: { host: true, onRegion: false, gen: (c, x) => ({ 'file-write': x.pick(['fd', 'ft'], c.c) }) },
});

export const fileRead = defineOp({
  name: 'file-read',
  doc: 'pread() from a file',
  primary: 'file',
  args: fileRange,
  resolve(a, cx) {
    const f = cx.file(a.file);
    if (a.offset + a.pages > f.pages) cx.fail(`file-read beyond the ${f.pages} page(s) of file ${a.file}`);
    return { file: f.id, index: a.offset, pages: a.pages };
  },
  print: (m, cx) => ({
    'file-read': cx.file(m.file),
    ...(m.index ? { offset: m.index } : {}),
    ...(m.pages !== 1 ? { pages: m.pages } : {}),
  }),
  apply(s, ctx, _t, m) {
    const data: number[] = [];
    for (let i = 0; i < m.pages; i++) {
      const w = file_read_page(s, m.file, m.index + i);
      if (w < 0) break;
      data.push(w);
    }
    trace(ctx, 'filemap_read', `${data.length} page(s) of file ${m.file} read`);
    return ok(data.length, data);
  },
  exec: { args: ['file', 'index', 'pages'], encode: (m) => [m.file, m.index, m.pages] },
  fuzz: { host: true, onRegion: false, gen: (c, x) => ({ 'file-read': x.pick(['fd', 'ft'], c.c) }) },
});
