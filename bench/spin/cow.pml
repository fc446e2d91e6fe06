/*
 * bench/spin/cow.pml -- cowlab's Promela reference model (SPIN 6.5).
 *
 * A handful of tasks share, through fork(), one private anonymous mapping of
 * NPAGES pages.  They write, read, fork, exit, zap pages (MADV_DONTNEED),
 * vmsplice() pages into a pipe (a GUP reference without FOLL_WRITE) and read
 * those pipes back.  The write fault on a write-protected PTE decides between
 * reusing the page and copying it, either by mapcount (Linux up to 5.7) or by
 * page_count (Linux 5.9 and later).  Under the mapcount rule a pipe can end
 * up reading what another task wrote after the vmsplice (CVE-2020-29374);
 * the no-leak assertion catches that.  `npm run bench` (src/bench/explore.ts)
 * explores this model with pan next to cowlab's explorer on the same bounds.
 *
 * Compile-time knobs (spin -D...):
 *   NPROC           most tasks that ever exist (default 3).  Task 0 exists
 *                   from the start; each fork creates the next unused task id,
 *                   ids are never recycled, so a run has at most NPROC-1 forks.
 *   NPAGES          pages of the mapping (default 2).
 *   RULE_MAPCOUNT   reuse the page on a write fault iff its mapcount is 1.
 *                   This is the default when no rule is given.
 *   RULE_PAGECOUNT  reuse the page on a write fault iff its page_count
 *                   (mappings plus pipe references) is 1.
 *   NO_RENUMBER     keep physical frame numbers as allocated instead of
 *                   renaming them canonically after every step (bigger space).
 *   SELFCHECK       after every step, recount every frame's references from
 *                   the PTEs and pipes and assert the bookkeeping (model test;
 *                   leave it off when measuring).
 *   VISIBLE_SCRATCH make the scratch variables ordinary state (reset to 0 by
 *                   every step) instead of 'hidden', for pan -DBFS, which does
 *                   not accept hidden variables.  Same number of states.
 * pan is meant to be compiled with -DSAFETY -DNOREDUCE (there is one process
 * and only assertions to check), optionally -DHC4.
 *
 * How the system is abstracted
 *
 *  Steps.  A single proctype runs a loop whose every option is one d_step:
 *    one guarded, indivisible operation of one task (on one page).  The only
 *    choice pan makes is which option to take.  A write that changes nothing
 *    is still an enabled option and counts as a transition.
 *
 *  Data and write ids.  A frame holds one number, the write id of the last
 *    store into it (0 = zero-filled).  A task does not get a new id for every
 *    store but for every fork it takes part in, so a store says only who
 *    wrote and in which "epoch" -- enough to decide the no-leak property and
 *    finite.  Numbering (fixed, so runs with the same history agree):
 *        0        zero fill
 *        1        task 0 until its first fork
 *        2k       the parent of the fork that creates task k, from then on
 *        2k+1     task k, from its birth
 *    forker[k] remembers the parent of task k, so the author of an id is
 *    (odd id: id/2, even id: forker[id/2]); id 0 is credited to task 0.
 *
 *  Lineage.  allowed (a bitmask over write ids) is what a task may
 *    legitimately see: zero fill, its own ids and whatever its parent was
 *    allowed to see at the fork.  The child copies the parent's mask before
 *    the parent switches to its new id, so an id that a task is currently
 *    storing is never in another live task's mask.
 *
 *  Frames.  A pool of 2*NPROC*NPAGES frames, each with a page_count (refs),
 *    a mapcount (maps) and its data.  Every frame in use has refs > 0 and is
 *    reached from a PTE or a pipe buffer; there are at most NPROC*NPAGES of
 *    each, so the pool is large enough (asserted).  A new frame is the lowest
 *    unused one, and an unused frame is all zeros.
 *
 *  PTEs.  One byte per task and page: 0 when nothing is mapped, otherwise
 *    ((frame+1) << 1) | writable.
 *
 *  write(page): no PTE -> anonymous write fault: a new frame, mapped
 *    writable.  Writable PTE -> store in place.  Read-only PTE -> the reuse
 *    rule: reuse makes the PTE writable; otherwise the data is copied to a
 *    new frame that replaces the PTE and the old frame loses one mapping and
 *    one reference.  Then the task's current write id is stored.
 *
 *  read(page): only offered on a page with no PTE (reading a mapped page
 *    changes no state).  The read fault maps a new zero-filled frame
 *    writable: the shared zero page is not modelled.
 *
 *  fork: offered while fewer than NPROC tasks were created.  Every PTE of
 *    the parent is copied into the child and both become read-only; each
 *    shared frame gains one mapping and one reference.  Pipes stay with the
 *    parent.  vmsplice takes a plain reference, not a pin, so fork never
 *    copies a page early.
 *
 *  zap(page) (MADV_DONTNEED): offered on a mapped page.  The PTE goes away
 *    (one mapping and one reference less; the frame is freed at refs 0); the
 *    page stays in the mapping and faults in zero-filled next time.
 *
 *  vmsplice(page): offered when the task's pipe buffer for that page is
 *    empty (one buffer per task and page).  An unmapped page is first read-
 *    faulted as above; a read-only GUP never breaks COW.  The buffer takes
 *    one reference (no mapping) and remembers the data visible right now.
 *
 *  pipe read(page): offered on a full buffer.  It reads the frame's data
 *    now, checks the properties and drops the reference.
 *
 *  exit: offered for any live task, task 0 included.  It zaps every page,
 *    drops every pipe buffer and clears the task's record, so dead tasks are
 *    indistinguishable.  Once every task is gone nothing is enabled, which
 *    is a valid end state.
 *
 *  Properties, asserted at every pipe read, in this order:
 *    no-leak    the data read is a write id in the reader's allowed mask;
 *    integrity  the data read is what the reader saw at vmsplice time, or
 *               the reader wrote it itself.  Only the reader and its
 *               descendants can store into the pipe's frame, so this fails
 *               only when no-leak fails first.
 *
 *  Symmetry.  Frame numbers carry no meaning.  Unless NO_RENUMBER, every
 *    step ends by renaming the frames in use 0, 1, 2, ... in the order they
 *    are first met going through task 0's PTEs, task 0's pipe buffers, task
 *    1's PTEs, ..., so states that differ only by frame naming are one state.
 *    Tasks and pages are not reduced.
 */

#ifndef NPROC
#define NPROC 3
#endif
#ifndef NPAGES
#define NPAGES 2
#endif

#if defined(RULE_MAPCOUNT) && defined(RULE_PAGECOUNT)
#error "choose one of RULE_MAPCOUNT and RULE_PAGECOUNT"
#endif
#if !defined(RULE_PAGECOUNT) && !defined(RULE_MAPCOUNT)
#define RULE_MAPCOUNT
#endif

#if NPROC < 1 || NPROC > 8 || NPAGES < 1 || NPAGES > 4
#error "the step menu below covers 1..8 tasks and 1..4 pages"
#endif

#define NFRAMES (2 * NPROC * NPAGES)

/* write ids run from 0 to 2*NPROC-1: one bit each in a lineage mask */
#if NPROC <= 4
#define MASK byte
#else
#define MASK int
#endif

/* ---- PTE encoding ---- */
#define PTE(f, w)     ((((f) + 1) << 1) | (w))
#define PTE_FRAME(e)  (((e) >> 1) - 1)
#define PTE_WRITE(e)  ((e) & 1)

/* ---- the reuse rule of the write fault ---- */
#ifdef RULE_PAGECOUNT
#define MAY_REUSE(f)  (mem[f].refs == 1)
#else
#define MAY_REUSE(f)  (mem[f].maps == 1)
#endif

/* who stored write id x (see "Data and write ids") */
#define AUTHOR(id) (((id) & 1) -> ((id) >> 1) : forker[(id) >> 1])

typedef PageFrame {
  byte refs;                    /* page_count: PTEs + pipe buffers */
  byte maps;                    /* mapcount: PTEs */
  byte data                     /* write id of the last store */
};

typedef TaskRec {
  bit  live;
  byte epoch;                   /* write id of this task's stores now */
  MASK allowed;                 /* write ids it may observe */
  byte pte[NPAGES];             /* 0, or PTE(frame, writable) */
  byte buf[NPAGES];             /* pipe buffer per page: 0, or frame+1 */
  byte snap[NPAGES]             /* data seen when the buffer was filled */
};

PageFrame mem[NFRAMES];
TaskRec   task[NPROC];
byte      spawned;              /* tasks created so far: ids 0..spawned-1 */
byte      forker[NPROC];        /* forker[k]: parent of task k (k >= 1) */

/* ---- scratch: written before being read inside every d_step ---- */
#ifdef VISIBLE_SCRATCH
#define SCRATCH byte
#else
#define SCRATCH hidden byte
#endif
SCRATCH w_fr, w_new, w_kid, w_pg, w_tk, w_got, w_nxt;
SCRATCH w_name[NFRAMES];       /* renumbering: old frame -> new frame + 1 */
SCRATCH w_refs[NFRAMES], w_maps[NFRAMES], w_data[NFRAMES];

/* ---- frame pool ---- */

inline grab(r) {                /* a new frame, mapped once, zero-filled */
  r = 0;
  do
  :: r < NFRAMES && mem[r].refs > 0 -> r++
  :: else -> break
  od;
  assert(r < NFRAMES);
  mem[r].refs = 1;
  mem[r].maps = 1;
  mem[r].data = 0
}

inline put(r) {                 /* one reference less; free at zero */
  mem[r].refs--;
  if
  :: mem[r].refs == 0 -> assert(mem[r].maps == 0); mem[r].data = 0
  :: else -> skip
  fi
}

/* ---- operations of task p on page s ---- */

inline zero_fill(p, s) {        /* read fault: new zero frame, writable */
  grab(w_fr);
  task[p].pte[s] = PTE(w_fr, 1)
}

inline zap(p, s) {              /* drop the PTE, if any */
  if
  :: task[p].pte[s] != 0 ->
       w_fr = PTE_FRAME(task[p].pte[s]);
       task[p].pte[s] = 0;
       mem[w_fr].maps--;
       put(w_fr)
  :: else -> skip
  fi
}

inline store(p, s) {            /* write fault (if needed), then the store */
  if
  :: task[p].pte[s] == 0 ->
       zero_fill(p, s)
  :: task[p].pte[s] != 0 && PTE_WRITE(task[p].pte[s]) ->
       w_fr = PTE_FRAME(task[p].pte[s])
  :: task[p].pte[s] != 0 && !PTE_WRITE(task[p].pte[s]) ->
       w_fr = PTE_FRAME(task[p].pte[s]);
       if
       :: MAY_REUSE(w_fr) ->
            task[p].pte[s] = PTE(w_fr, 1)
       :: else ->               /* break COW: private copy */
            grab(w_new);
            mem[w_new].data = mem[w_fr].data;
            task[p].pte[s] = PTE(w_new, 1);
            mem[w_fr].maps--;
            put(w_fr);
            w_fr = w_new
       fi
  fi;
  mem[w_fr].data = task[p].epoch
}

inline splice(p, s) {           /* vmsplice: read-only GUP into the pipe */
  if
  :: task[p].pte[s] == 0 -> zero_fill(p, s)
  :: else -> skip
  fi;
  w_fr = PTE_FRAME(task[p].pte[s]);
  mem[w_fr].refs++;
  task[p].buf[s] = w_fr + 1;
  task[p].snap[s] = mem[w_fr].data
}

inline drain(p, s) {            /* read the pipe, check, drop the reference */
  w_fr = task[p].buf[s] - 1;
  w_got = mem[w_fr].data;
  assert(((task[p].allowed >> w_got) & 1) == 1);         /* no-leak */
  assert(w_got == task[p].snap[s] || AUTHOR(w_got) == p);  /* integrity */
  task[p].buf[s] = 0;
  task[p].snap[s] = 0;
  put(w_fr)
}

/* ---- operations of task p ---- */

inline clone_task(p) {          /* fork: the new task shares every mapped page */
  w_kid = spawned;
  task[w_kid].live = 1;
  for (w_pg : 0 .. NPAGES - 1) {
    if
    :: task[p].pte[w_pg] != 0 ->
         w_fr = PTE_FRAME(task[p].pte[w_pg]);
         task[p].pte[w_pg] = PTE(w_fr, 0);
         task[w_kid].pte[w_pg] = PTE(w_fr, 0);
         mem[w_fr].maps++;
         mem[w_fr].refs++
    :: else -> skip
    fi
  };
  /* the child inherits the parent's view, then both get a fresh id */
  task[w_kid].allowed = task[p].allowed | (1 << (2 * w_kid + 1));
  task[w_kid].epoch = 2 * w_kid + 1;
  task[p].allowed = task[p].allowed | (1 << (2 * w_kid));
  task[p].epoch = 2 * w_kid;
  forker[w_kid] = p;
  spawned++
}

inline quit(p) {                /* exit: release everything, forget the task */
  for (w_pg : 0 .. NPAGES - 1) {
    zap(p, w_pg);
    if
    :: task[p].buf[w_pg] != 0 ->
         w_fr = task[p].buf[w_pg] - 1;
         task[p].buf[w_pg] = 0;
         task[p].snap[w_pg] = 0;
         put(w_fr)
    :: else -> skip
    fi
  };
  task[p].live = 0;
  task[p].epoch = 0;
  task[p].allowed = 0
}

/* ---- canonical frame names ---- */

#ifndef NO_RENUMBER
inline name_frame(f) {          /* f: a frame in use, met during the scan */
  if
  :: w_name[f] == 0 -> w_nxt++; w_name[f] = w_nxt
  :: else -> skip
  fi
}

inline renumber() {
  for (w_pg : 0 .. NFRAMES - 1) {  /* set the pool aside, empty it */
    w_name[w_pg] = 0;
    w_refs[w_pg] = mem[w_pg].refs; w_maps[w_pg] = mem[w_pg].maps; w_data[w_pg] = mem[w_pg].data;
    mem[w_pg].refs = 0; mem[w_pg].maps = 0; mem[w_pg].data = 0
  };
  w_nxt = 0;
  for (w_tk : 0 .. NPROC - 1) {    /* name frames in order of first use */
    for (w_pg : 0 .. NPAGES - 1) {
      if
      :: task[w_tk].pte[w_pg] != 0 -> name_frame(PTE_FRAME(task[w_tk].pte[w_pg]))
      :: else -> skip
      fi
    };
    for (w_pg : 0 .. NPAGES - 1) {
      if
      :: task[w_tk].buf[w_pg] != 0 -> name_frame(task[w_tk].buf[w_pg] - 1)
      :: else -> skip
      fi
    }
  };
  for (w_pg : 0 .. NFRAMES - 1) {  /* put the frames back under their names */
    if
    :: w_name[w_pg] != 0 ->
         mem[w_name[w_pg] - 1].refs = w_refs[w_pg];
         mem[w_name[w_pg] - 1].maps = w_maps[w_pg];
         mem[w_name[w_pg] - 1].data = w_data[w_pg]
    :: else -> assert(w_refs[w_pg] == 0)     /* nothing reaches it: unused */
    fi
  };
  for (w_tk : 0 .. NPROC - 1) {    /* and rename the references */
    for (w_pg : 0 .. NPAGES - 1) {
      if
      :: task[w_tk].pte[w_pg] != 0 ->
           task[w_tk].pte[w_pg] = PTE(w_name[PTE_FRAME(task[w_tk].pte[w_pg])] - 1, PTE_WRITE(task[w_tk].pte[w_pg]))
      :: else -> skip
      fi;
      if
      :: task[w_tk].buf[w_pg] != 0 -> task[w_tk].buf[w_pg] = w_name[task[w_tk].buf[w_pg] - 1]
      :: else -> skip
      fi
    }
  }
}
#define RENUMBER ; renumber()
#else
#define RENUMBER
#endif

/* ---- model self-check ---- */

#ifdef SELFCHECK
SCRATCH w_nrefs, w_nmaps, w_fx;
inline selfcheck() {
  for (w_fx : 0 .. NFRAMES - 1) {
    w_nrefs = 0; w_nmaps = 0;
    for (w_tk : 0 .. NPROC - 1) {
      for (w_pg : 0 .. NPAGES - 1) {
        if
        :: task[w_tk].pte[w_pg] != 0 && PTE_FRAME(task[w_tk].pte[w_pg]) == w_fx ->
             w_nrefs++; w_nmaps++;
             assert(task[w_tk].live);
             assert(!PTE_WRITE(task[w_tk].pte[w_pg]) || mem[w_fx].maps == 1)
        :: else -> skip
        fi;
        if
        :: task[w_tk].buf[w_pg] == w_fx + 1 -> w_nrefs++; assert(task[w_tk].live)
        :: else -> skip
        fi
      }
    };
    assert(mem[w_fx].refs == w_nrefs && mem[w_fx].maps == w_nmaps);
    assert(w_nrefs > 0 || mem[w_fx].data == 0)
  }
}
#define SELFCHECK_STEP ; selfcheck()
#else
#define SELFCHECK_STEP
#endif

#ifdef VISIBLE_SCRATCH
inline wipe_scratch() {         /* keep scratch out of the state's identity */
  w_fr = 0; w_new = 0; w_kid = 0; w_got = 0; w_nxt = 0; w_tk = 0;
  for (w_pg : 0 .. NFRAMES - 1) {
    w_name[w_pg] = 0; w_refs[w_pg] = 0; w_maps[w_pg] = 0; w_data[w_pg] = 0
  };
  w_pg = 0
#ifdef SELFCHECK
  ; w_nrefs = 0; w_nmaps = 0; w_fx = 0
#endif
}
#define WIPE ; wipe_scratch()
#else
#define WIPE
#endif

/* every step ends with this */
#define AFTER RENUMBER SELFCHECK_STEP WIPE ; skip

/* ---- the menu of steps ---- */

#define PAGE_STEPS(P, S) \
  :: d_step { task[P].live -> store(P, S) AFTER } \
  :: d_step { task[P].live && task[P].pte[S] == 0 -> zero_fill(P, S) AFTER } \
  :: d_step { task[P].live && task[P].pte[S] != 0 -> zap(P, S) AFTER } \
  :: d_step { task[P].live && task[P].buf[S] == 0 -> splice(P, S) AFTER } \
  :: d_step { task[P].buf[S] != 0 -> drain(P, S) AFTER }

#if NPAGES > 1
#define PAGE_1(P) PAGE_STEPS(P, 1)
#else
#define PAGE_1(P)
#endif
#if NPAGES > 2
#define PAGE_2(P) PAGE_STEPS(P, 2)
#else
#define PAGE_2(P)
#endif
#if NPAGES > 3
#define PAGE_3(P) PAGE_STEPS(P, 3)
#else
#define PAGE_3(P)
#endif

#define TASK_STEPS(P) \
  :: d_step { task[P].live && spawned < NPROC -> clone_task(P) AFTER } \
  :: d_step { task[P].live -> quit(P) AFTER } \
  PAGE_STEPS(P, 0) PAGE_1(P) PAGE_2(P) PAGE_3(P)

#if NPROC > 1
#define TASK_1 TASK_STEPS(1)
#else
#define TASK_1
#endif
#if NPROC > 2
#define TASK_2 TASK_STEPS(2)
#else
#define TASK_2
#endif
#if NPROC > 3
#define TASK_3 TASK_STEPS(3)
#else
#define TASK_3
#endif
#if NPROC > 4
#define TASK_4 TASK_STEPS(4)
#else
#define TASK_4
#endif
#if NPROC > 5
#define TASK_5 TASK_STEPS(5)
#else
#define TASK_5
#endif
#if NPROC > 6
#define TASK_6 TASK_STEPS(6)
#else
#define TASK_6
#endif
#if NPROC > 7
#define TASK_7 TASK_STEPS(7)
#else
#define TASK_7
#endif

active proctype mm()
{
  /* start: task 0 alive with nothing mapped and no pipes; it stores id 1
   * and may see ids 0 and 1 */
  d_step {
    spawned = 1;
    task[0].live = 1;
    task[0].epoch = 1;
    task[0].allowed = 3
  };
end_idle:
  do
  TASK_STEPS(0)
  TASK_1
  TASK_2
  TASK_3
  TASK_4
  TASK_5
  TASK_6
  TASK_7
  od
}
