import { describe, it, expect } from 'vitest';
import { roundSize } from '../../../src/fuzz/fuzz.js';

describe('fuzz --diff rounds', () => {
  it('hold fewer scenarios when they are long (their observations are held until compared)', () => {
    expect(roundSize(64, 24, 2)).toBe(64);
    expect(roundSize(64, 8, 2)).toBe(64);
    expect(roundSize(64, 240, 2)).toBe(6);
    expect(roundSize(64, 4096, 2)).toBe(2);
    expect(roundSize(250, 4096, 1)).toBe(1);
  });
});
