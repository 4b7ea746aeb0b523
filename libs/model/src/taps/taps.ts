import type { GptConfig } from '../config/gpt-config';

/** Suffixes of the adaptable linear modules inside each block, in forward order. */
export const BLOCK_TAP_SUFFIXES = ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'] as const;

/** The classification head's tap. Its X is the pooled [B, nEmbd] rows, not every token. */
export const SCORE_TAP = 'score';

/** Input and output widths of a tap: its X is [rows, dIn] and its G is [rows, dOut]. */
export interface TapShape {
  /** Width of the tap's input X. */
  dIn: number;
  /** Width of the tap's output h (and of G). */
  dOut: number;
}

/** Every tap of a model in forward order: the block modules, then `score` when there is a head. */
export function allTaps(config: GptConfig): string[] {
  const taps: string[] = [];
  for (let i = 0; i < config.nLayer; i++) for (const s of BLOCK_TAP_SUFFIXES) taps.push(`h.${i}.${s}`);
  if (config.numLabels !== undefined) taps.push(SCORE_TAP);
  return taps;
}

/**
 * Maps target-module names to full tap names, like PEFT's `target_modules`: a target matches every
 * tap equal to it or ending in `.${target}`, so 'c_attn' selects `h.*.attn.c_attn`, 'mlp.c_proj'
 * selects only the MLP projections, and 'h.0.attn.c_attn' a single tap. Result is in forward
 * order without duplicates. A target that matches nothing is an error listing valid names.
 */
export function resolveTaps(config: GptConfig, targetModules: readonly string[]): string[] {
  if (targetModules.length === 0) throw new Error('targetModules is empty; name at least one module, e.g. ["c_attn", "score"]');
  const taps = allTaps(config);
  const selected = new Set<string>();
  const unknown: string[] = [];
  for (const target of targetModules) {
    const hits = taps.filter((t) => t === target || t.endsWith(`.${target}`));
    if (hits.length === 0) unknown.push(target);
    for (const h of hits) selected.add(h);
  }
  if (unknown.length) {
    const hint = unknown.includes(SCORE_TAP) ? ' (the model has no classification head: call initClassificationHead first)' : '';
    throw new Error(
      `Unknown target module(s) ${unknown.map((u) => `"${u}"`).join(', ')}${hint}. Valid targets: c_attn, attn.c_proj, c_fc, mlp.c_proj, c_proj` +
        `${config.numLabels !== undefined ? ', score' : ''}, or a full tap name such as ${taps[0]}`,
    );
  }
  return taps.filter((t) => selected.has(t));
}

/** The widths of a tap; throws for a name that is not a tap of this config. */
export function tapShape(config: GptConfig, tap: string): TapShape {
  const d = config.nEmbd;
  if (tap === SCORE_TAP) {
    if (config.numLabels === undefined) throw new Error('Tap "score" needs a classification head: call initClassificationHead first');
    return { dIn: d, dOut: config.numLabels };
  }
  const m = /^h\.(\d+)\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)$/.exec(tap);
  if (!m || Number(m[1]) >= config.nLayer) {
    throw new Error(
      `"${tap}" is not a tap of this model; taps look like h.{0..${config.nLayer - 1}}.attn.c_attn|attn.c_proj|mlp.c_fc|mlp.c_proj, or score`,
    );
  }
  switch (m[2]) {
    case 'attn.c_attn':
      return { dIn: d, dOut: 3 * d };
    case 'attn.c_proj':
      return { dIn: d, dOut: d };
    case 'mlp.c_fc':
      return { dIn: d, dOut: 4 * d };
    default:
      return { dIn: 4 * d, dOut: d };
  }
}
