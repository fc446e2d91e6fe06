/**
 * The scenarios of one file's text: no file system, so the browser viewer
 * loads scenarios exactly as the command line does.
 */
import { InputError, type Pos } from './errors.js';
import { loadYaml, scenarioFromObject, baseName, type Positions, type PosSource } from './parse.js';
import { expandTemplate } from './cowc.js';
import { resolveScenario, type Resolved } from './resolve.js';

/** `FILE#ID` as the file and the template instance (none without a #). */
export function splitSpec(spec: string): [string, string | undefined] {
  const i = spec.lastIndexOf('#');
  return i > 0 ? [spec.slice(0, i), spec.slice(i + 1)] : [spec, undefined];
}

/**
 * Validates and resolves the scenarios of one file's text, shown in
 * messages as `shown`: one, or every instance of a template (`matrix:`,
 * ./cowc.ts), each named FILE#ID. `only` picks one instance of a template.
 */
export function scenariosFromText(text: string, shown: string, only?: string): Resolved[] {
  const { raw, pos } = loadYaml(text, shown);
  if (!raw || typeof raw !== 'object' || Array.isArray(raw) || !('matrix' in raw)) {
    if (only !== undefined) throw new InputError(`${shown}: not a template, it has no instance "${only}"`);
    return [resolveScenario(scenarioFromObject(raw, shown, pos))];
  }
  const tpl = raw as Record<string, unknown>;
  let instances;
  try {
    instances = expandTemplate(tpl, baseName(shown));
  } catch (e) {
    if (e instanceof InputError && !e.pos) throw new InputError(e.message, pos.at(['matrix']));
    throw e;
  }
  if (only !== undefined) {
    instances = instances.filter((x) => x.id === only);
    if (!instances.length)
      throw new InputError(
        `${shown}: no instance "${only}"; it has ${expandTemplate(tpl, baseName(shown))
          .map((x) => x.id)
          .join(', ')}`,
      );
  }
  return instances.map((x) => {
    // the template's own steps keep their places in the file for error messages
    const at = `${shown}#${x.id}`;
    return resolveScenario(scenarioFromObject(x.raw, at, instancePositions(pos, at, x.raw, tpl)));
  });
}

/**
 * Positions for an instance: its steps that come from the template point at
 * the template's steps (they are the instance's last ones), the setup steps
 * at the `matrix:` key.
 */
function instancePositions(pos: Positions, file: string, raw: Record<string, unknown>, tpl: Record<string, unknown>): PosSource {
  const n = Array.isArray(raw.steps) ? raw.steps.length : 0;
  const k = Array.isArray(tpl.steps) ? tpl.steps.length : 0;
  const map = (path: readonly (string | number)[]): readonly (string | number)[] | null => {
    if (path[0] !== 'steps' || typeof path[1] !== 'number') return path[0] === 'steps' ? null : path;
    const i = path[1] - (n - k);
    return i >= 0 ? ['steps', i, ...path.slice(2)] : null;
  };
  const fix = (p: Pos): Pos => ({ ...p, file });
  return {
    at: (path) => {
      const m = map(path);
      return fix(m ? pos.at(m) : pos.at(['matrix']));
    },
    key: (path, key) => {
      const m = map(path);
      return fix(m ? pos.key(m, key) : pos.at(['matrix']));
    },
  };
}
