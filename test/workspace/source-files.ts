import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** The repository root (this file is test/workspace/source-files.ts). */
export const ROOT = join(import.meta.dirname, '..', '..');

const SKIP = new Set(['node_modules', 'dist', '.git', '.nx', 'models', 'gen']);

/** Every file under `dirs` (relative to the root) whose name ends with one of `exts`, as root-relative paths. */
export function sourceFiles(dirs: readonly string[], exts: readonly string[] = ['.ts', '.mjs']): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      if (SKIP.has(entry)) continue;
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (exts.some((e) => entry.endsWith(e))) out.push(relative(ROOT, path));
    }
  };
  for (const d of dirs) walk(join(ROOT, d));
  return out.sort();
}

/** A file's text, by root-relative path. */
export const readSource = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
