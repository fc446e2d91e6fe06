/** The generated sections of the documentation are current (`npm run docs` rewrites them). */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fillSections, GENERATED_DOCS } from '../../../src/docs/generate.js';

describe('generated documentation', () => {
  for (const f of GENERATED_DOCS) {
    it(`${f} is up to date`, () => {
      const text = readFileSync(f, 'utf8');
      expect(text).toContain('<!-- generated:');
      expect(fillSections(text), `${f}: run npm run docs`).toBe(text);
    });
  }
});
