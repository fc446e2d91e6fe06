/**
 * The matrix of a directory of shipped scenarios, computed off the page:
 * each scenario on each of the matrix's profiles, judged as `cowlab matrix`
 * judges a cell, posted cell by cell so rows appear as they are done.
 */
import { scenariosFromText } from '../src/scenario/text.js';
import { runScenario } from '../src/scenario/run.js';
import { profileLacks } from '../src/profiles/support.js';
import { MATRIX_PROFILES, PROFILES } from '../src/profiles/index.js';
import { judgeRun, kselftestResult } from '../src/matrix/matrix.js';

export interface MatrixCellMsg {
  type: 'cell';
  /** the shipped path (with #instance for a template's) */
  spec: string;
  scenario: string;
  kernel: string;
  word: string;
  step?: number;
  property?: string;
  needless: number;
}

self.onmessage = (e: MessageEvent<{ files: { path: string; text: string }[] }>) => {
  for (const { path, text } of e.data.files) {
    let rs;
    try {
      rs = scenariosFromText(text, path);
    } catch (err) {
      self.postMessage({ type: 'error', spec: path, message: (err as Error).message });
      continue;
    }
    for (const r of rs) {
      const spec = r.sc.file.includes('#') ? r.sc.file : path;
      for (const prof of MATRIX_PROFILES) {
        const res = profileLacks(prof, r) ? null : runScenario(r, prof);
        const cell = judgeRun(r, prof, PROFILES, res);
        const msg: MatrixCellMsg = {
          type: 'cell',
          spec,
          scenario: r.sc.name,
          kernel: prof.id,
          word: kselftestResult(cell),
          needless: cell.needless,
          ...(cell.step !== undefined ? { step: cell.step } : {}),
          ...(cell.property ? { property: cell.property } : {}),
        };
        self.postMessage(msg);
      }
    }
  }
  self.postMessage({ type: 'done' });
};
