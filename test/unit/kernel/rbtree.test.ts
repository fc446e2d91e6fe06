/**
 * lib/rbtree.c in the model (src/kernel/lib/rbtree.ts): any sequence of
 * inserts and erases leaves a valid red-black search tree, and the shapes
 * are the kernel's: the expected shapes below are what lib/rbtree.c
 * (tools/lib/rbtree.c of 6.1.176, built in user space) printed for the same
 * sequences.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { RbTree, type RbNode } from '../../../src/kernel/lib/rbtree.js';

/** Inserts `k` as unstable_tree_search_insert() does: down by comparison, then linked as a leaf. */
function insert(tree: RbTree<number>, k: number): RbNode<number> {
  let parent: RbNode<number> | null = null;
  let left = false;
  for (let n = tree.root; n !== null; n = left ? n.left : n.right) {
    parent = n;
    left = k < n.value;
  }
  return tree.insert(k, parent, left);
}

/** The tree as text: value, R for red, children in parentheses. */
function shape(n: RbNode<number> | null): string {
  if (n === null) return '.';
  const me = `${n.value}${n.red ? 'R' : ''}`;
  return n.left === null && n.right === null ? me : `${me}(${shape(n.left)} ${shape(n.right)})`;
}

/** Checks every red-black and search-tree invariant; the number of nodes. */
function check(tree: RbTree<number>): number {
  expect(tree.root === null || !tree.root.red).toBe(true);
  if (tree.root !== null) expect(tree.root.parent).toBeNull();
  let count = 0;
  const walk = (n: RbNode<number> | null, lo: number, hi: number): number => {
    if (n === null) return 1;
    count++;
    expect(n.value > lo && n.value < hi).toBe(true);
    for (const c of [n.left, n.right]) {
      if (c === null) continue;
      expect(c.parent).toBe(n);
      if (n.red) expect(c.red).toBe(false);
    }
    const bl = walk(n.left, lo, n.value);
    const br = walk(n.right, n.value, hi);
    expect(bl).toBe(br);
    return bl + (n.red ? 0 : 1);
  };
  walk(tree.root, -Infinity, Infinity);
  expect(tree.size).toBe(count);
  return count;
}

describe('rbtree', () => {
  it('keeps every invariant through any inserts and erases', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ erase: fc.boolean(), k: fc.integer({ min: 0, max: 40 }) }), { maxLength: 80 }), (ops) => {
        const tree = new RbTree<number>();
        const nodes = new Map<number, RbNode<number>>();
        for (const op of ops) {
          const n = nodes.get(op.k);
          if (op.erase && n !== undefined) {
            tree.erase(n);
            nodes.delete(op.k);
          } else if (!op.erase && n === undefined) {
            nodes.set(op.k, insert(tree, op.k));
          }
          expect(check(tree)).toBe(nodes.size);
        }
      }),
      { seed: 14, numRuns: 300 },
    );
  });

  it('rotates as __rb_insert() does', () => {
    const tree = new RbTree<number>();
    insert(tree, 1);
    insert(tree, 2);
    expect(shape(tree.root)).toBe('1(. 2R)');
    insert(tree, 3); // right-right: left rotation at the grandparent
    expect(shape(tree.root)).toBe('2(1R 3R)');
    insert(tree, 4); // red uncle: colour flip, the root stays black
    expect(shape(tree.root)).toBe('2(1 3(. 4R))');
    insert(tree, 0);
    insert(tree, 3.5); // right-left: rotation at the parent, then at the grandparent
    expect(shape(tree.root)).toBe('2(1(0R .) 3.5(3R 4R))');
  });

  it('erases as rb_erase() does: successor in place, then the colour cases', () => {
    const tree = new RbTree<number>();
    const n = new Map([1, 2, 3, 4, 5, 6, 7].map((k) => [k, insert(tree, k)] as const));
    expect(shape(tree.root)).toBe('2(1 4R(3 6(5R 7R)))');
    tree.erase(n.get(2)!); // two children: the successor 3 takes its place and colour; 4's side is short
    expect(shape(tree.root)).toBe('3(1 6R(4(. 5R) 7))');
    tree.erase(n.get(4)!); // one (red) child: 5 takes the node's place, black
    expect(shape(tree.root)).toBe('3(1 6R(5 7))');
    tree.erase(n.get(3)!); // the root: successor 5, a black leaf: its sibling 7 turns red, their red parent 6 black
    expect(shape(tree.root)).toBe('5(1 6(. 7R))');
    tree.erase(n.get(1)!); // a black leaf: sibling 6 has a red far child: rotation at the parent
    expect(shape(tree.root)).toBe('6(5 7)');
    expect(check(tree)).toBe(3);
  });
});
