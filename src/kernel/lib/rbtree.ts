/**
 * lib/rbtree.c: the red-black tree ksmd keeps its unstable tree in.
 *
 * The tree's shape is observable: ksmd's unstable_tree_search_insert() gives
 * up at the first node whose page it cannot get (debian-6.1, a PROT_NONE
 * page), so which nodes lie on a search path decides what merges. This is
 * the textbook insertion and deletion (successor replacement, the same
 * rebalancing cases), which lib/rbtree.c's __rb_insert() and
 * ____rb_erase_color() follow case for case (every era), so a sequence of
 * inserts and erases leaves the kernel's shape.
 */

/** A node: rb_node plus what the kernel embeds it in. */
export interface RbNode<T> {
  value: T;
  left: RbNode<T> | null;
  right: RbNode<T> | null;
  parent: RbNode<T> | null;
  red: boolean;
}

type Dir = 'left' | 'right';
const other = (d: Dir): Dir => (d === 'left' ? 'right' : 'left');

/** An rb_root with its node count. */
export class RbTree<T> {
  root: RbNode<T> | null = null;
  size = 0;

  /** rb_link_node() + rb_insert_color(): a new red leaf under `parent` (null: the root), then rebalanced. */
  insert(value: T, parent: RbNode<T> | null, left: boolean): RbNode<T> {
    const node: RbNode<T> = { value, left: null, right: null, parent, red: true };
    if (parent === null) this.root = node;
    else if (left) parent.left = node;
    else parent.right = node;
    this.size++;
    this.insertFixup(node);
    return node;
  }

  /** rb_erase(). */
  erase(z: RbNode<T>): void {
    let x: RbNode<T> | null;
    let xParent: RbNode<T> | null;
    let removedRed: boolean;
    if (z.left === null || z.right === null) {
      x = z.left ?? z.right;
      xParent = z.parent;
      removedRed = z.red;
      this.transplant(z, x);
    } else {
      // the successor takes z's place and colour
      let y = z.right;
      while (y.left !== null) y = y.left;
      removedRed = y.red;
      x = y.right;
      if (y.parent === z) {
        xParent = y;
      } else {
        xParent = y.parent;
        this.transplant(y, y.right);
        y.right = z.right;
        y.right.parent = y;
      }
      this.transplant(z, y);
      y.left = z.left;
      y.left.parent = y;
      y.red = z.red;
    }
    this.size--;
    if (!removedRed) this.eraseFixup(x, xParent);
  }

  private transplant(u: RbNode<T>, v: RbNode<T> | null): void {
    if (u.parent === null) this.root = v;
    else if (u === u.parent.left) u.parent.left = v;
    else u.parent.right = v;
    if (v !== null) v.parent = u.parent;
  }

  /** Rotation at `x` towards `d`: x goes down on side `d`, its child on the other side comes up. */
  private rotate(x: RbNode<T>, d: Dir): void {
    const o = other(d);
    const y = x[o]!;
    x[o] = y[d];
    if (y[d] !== null) y[d].parent = x;
    this.transplant(x, y);
    y[d] = x;
    x.parent = y;
  }

  /** __rb_insert(): the cases for a parent on side `d` of the grandparent, mirrored for the other side. */
  private insertFixup(node: RbNode<T>): void {
    let z = node;
    while (z.parent !== null && z.parent.red) {
      const p = z.parent;
      const g = p.parent!; // a red parent is never the root
      const d: Dir = p === g.left ? 'left' : 'right';
      const o = other(d);
      const uncle = g[o];
      if (uncle !== null && uncle.red) {
        p.red = false;
        uncle.red = false;
        g.red = true;
        z = g;
        continue;
      }
      if (z === p[o]) {
        z = p;
        this.rotate(z, d);
      }
      z.parent!.red = false;
      g.red = true;
      this.rotate(g, o);
    }
    this.root!.red = false;
  }

  /** ____rb_erase_color(): `node` (maybe null) on side `d` of `parent` is a black node short, mirrored likewise. */
  private eraseFixup(node: RbNode<T> | null, parent: RbNode<T> | null): void {
    let x = node;
    let p = parent;
    while (x !== this.root && (x === null || !x.red) && p !== null) {
      const d: Dir = x === p.left ? 'left' : 'right';
      const o = other(d);
      let w = p[o]!; // a black-height deficit means the sibling exists
      if (w.red) {
        w.red = false;
        p.red = true;
        this.rotate(p, d);
        w = p[o]!;
      }
      if ((w.left === null || !w.left.red) && (w.right === null || !w.right.red)) {
        w.red = true;
        x = p;
        p = x.parent;
        continue;
      }
      if (w[o] === null || !w[o].red) {
        w[d]!.red = false;
        w.red = true;
        this.rotate(w, o);
        w = p[o]!;
      }
      w.red = p.red;
      p.red = false;
      w[o]!.red = false;
      this.rotate(p, d);
      x = this.root;
      p = null;
    }
    if (x !== null) x.red = false;
  }
}
