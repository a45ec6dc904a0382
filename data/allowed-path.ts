// Local sources must live inside an admin-allowed root, checked on the real path so `../` and symlinks cannot escape.
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { SourceNotAllowedError, SourceNotFoundError } from './errors.js';

/** The real path of `path` if it is a regular file inside one of `roots`, else a named error. */
export async function resolveAllowedPath(path: string, roots: readonly string[]): Promise<string> {
  if (roots.length === 0) {
    throw new SourceNotAllowedError(`local file sources are disabled: no data roots are configured`, { path });
  }
  // Relative paths are relative to the first root, so `datasets/x.csv`-style specs stay portable.
  const candidate = isAbsolute(path) ? path : resolve(roots[0]!, path);
  const outside = () =>
    new SourceNotAllowedError(`file ${JSON.stringify(path)} resolves outside the allowed data roots (${roots.join(', ')})`, {
      path,
    });
  // Refuse lexical escapes before touching the disk, so errors never reveal what exists outside the roots.
  if (!roots.some((root) => isInside(candidate, resolve(root)))) throw outside();
  let real: string;
  try {
    real = await realpath(candidate);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new SourceNotFoundError(`file ${JSON.stringify(path)} does not exist`, { path });
    }
    throw new SourceNotAllowedError(`file ${JSON.stringify(path)} cannot be resolved: ${(error as Error).message}`, {
      path,
    });
  }
  const realRoots = await Promise.all(roots.map((root) => realpath(root).catch(() => resolve(root))));
  if (!realRoots.some((root) => isInside(real, root))) throw outside();
  const info = await stat(real);
  if (!info.isFile()) {
    throw new SourceNotFoundError(`${JSON.stringify(path)} is not a regular file`, { path });
  }
  return real;
}

function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}
