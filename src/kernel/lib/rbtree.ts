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

  private rotateLeft(x: RbNode<T>): void {
    const y = x.right!;
    x.right = y.left;
    if (y.left !== null) y.left.parent = x;
    this.transplant(x, y);
    y.left = x;
    x.parent = y;
  }

  private rotateRight(x: RbNode<T>): void {
    const y = x.left!;
    x.left = y.right;
    if (y.right !== null) y.right.parent = x;
    this.transplant(x, y);
    y.right = x;
    x.parent = y;
  }

  private insertFixup(node: RbNode<T>): void {
    let z = node;
    while (z.parent !== null && z.parent.red) {
      const p = z.parent;
      const g = p.parent!; // a red parent is never the root
      if (p === g.left) {
        const uncle = g.right;
        if (uncle !== null && uncle.red) {
          p.red = false;
          uncle.red = false;
          g.red = true;
          z = g;
          continue;
        }
        if (z === p.right) {
          z = p;
          this.rotateLeft(z);
        }
        z.parent!.red = false;
        g.red = true;
        this.rotateRight(g);
      } else {
        const uncle = g.left;
        if (uncle !== null && uncle.red) {
          p.red = false;
          uncle.red = false;
          g.red = true;
          z = g;
          continue;
        }
        if (z === p.left) {
          z = p;
          this.rotateRight(z);
        }
        z.parent!.red = false;
        g.red = true;
        this.rotateLeft(g);
      }
    }
    this.root!.red = false;
  }

  private eraseFixup(node: RbNode<T> | null, parent: RbNode<T> | null): void {
    let x = node;
    let p = parent;
    while (x !== this.root && (x === null || !x.red) && p !== null) {
      if (x === p.left) {
        let w = p.right!; // a black-height deficit means the sibling exists
        if (w.red) {
          w.red = false;
          p.red = true;
          this.rotateLeft(p);
          w = p.right!;
        }
        if ((w.left === null || !w.left.red) && (w.right === null || !w.right.red)) {
          w.red = true;
          x = p;
          p = x.parent;
          continue;
        }
        if (w.right === null || !w.right.red) {
          w.left!.red = false;
          w.red = true;
          this.rotateRight(w);
          w = p.right!;
        }
        w.red = p.red;
        p.red = false;
        w.right!.red = false;
        this.rotateLeft(p);
        x = this.root;
        p = null;
      } else {
        let w = p.left!;
        if (w.red) {
          w.red = false;
          p.red = true;
          this.rotateRight(p);
          w = p.left!;
        }
        if ((w.left === null || !w.left.red) && (w.right === null || !w.right.red)) {
          w.red = true;
          x = p;
          p = x.parent;
          continue;
        }
        if (w.left === null || !w.left.red) {
          w.right!.red = false;
          w.red = true;
          this.rotateLeft(w);
          w = p.left!;
        }
        w.red = p.red;
        p.red = false;
        w.left!.red = false;
        this.rotateRight(p);
        x = this.root;
        p = null;
      }
    }
    if (x !== null) x.red = false;
  }
}
