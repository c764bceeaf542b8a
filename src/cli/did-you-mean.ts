// "; did you mean X?" for a mistyped flag, command or value (closestName: the nearest known name
// by edit distance, when it is close enough to be a typo).
import { closestName } from '../closest-name.js';

/** "; did you mean X?" (with `prefix` before X, e.g. '--'), or '' when nothing is close. */
export function didYouMean(word: string, known: readonly string[], prefix = ''): string {
  const match = closestName(word, known);
  return match === undefined ? '' : `; did you mean ${prefix}${match}?`;
}
