import type { ValidationError } from 'class-validator';
import { ApiError } from './api-error';

/** The first leaf of a class-validator error tree, with its dotted path. */
function firstLeaf(errors: readonly ValidationError[], prefix: string): { path: string; error: ValidationError } | undefined {
  for (const e of errors) {
    const path = prefix ? `${prefix}.${e.property}` : e.property;
    if (e.constraints && Object.keys(e.constraints).length > 0) return { path, error: e };
    const child = firstLeaf(e.children ?? [], path);
    if (child) return child;
  }
  return undefined;
}

/**
 * The global ValidationPipe's `exceptionFactory`: one 400 naming the first bad field by its API
 * path. An unknown property gets its own code, because a typo (`n_epoch`) would otherwise be
 * silently ignored and the job would train with a default the caller did not choose.
 */
export function validationErrorToApiError(errors: ValidationError[]): ApiError {
  const leaf = firstLeaf(errors, '');
  if (!leaf) return new ApiError(400, 'invalid_request', 'the request is invalid');
  const constraints = leaf.error.constraints!;
  if (constraints.whitelistValidation) {
    return new ApiError(
      400,
      'unknown_parameter',
      `Unknown parameter "${leaf.path}": remove it or check its spelling against /docs`,
      leaf.path,
    );
  }
  const messages = Object.values(constraints);
  return new ApiError(400, 'invalid_request', `${leaf.path}: ${messages.join('; ')}`, leaf.path);
}
