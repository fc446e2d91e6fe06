/** The shipped scenarios, bundled as text (the static site has no file system). */
const files = import.meta.glob<string>('../scenarios/**/*.yaml', { query: '?raw', import: 'default', eager: true });

/** Every shipped scenario file as `scenarios/...yaml` and its text, in path order. */
export const SHIPPED: readonly { path: string; text: string }[] = Object.entries(files)
  .map(([k, text]) => ({ path: k.replace(/^\.\.\//, ''), text }))
  .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
