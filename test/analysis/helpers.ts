/**
 * Brute-force models for the analysis tests: LRU as a plain array, with no cleverness to share
 * bugs with the code under test.
 */

/** Each access's LRU stack depth (1 = most recent), Infinity for a first touch, by array search. */
export function bruteForceDepths(pages: readonly number[]): number[] {
  const stack: number[] = []; // stack[0] is the most recent page
  return pages.map((page) => {
    const i = stack.indexOf(page);
    if (i >= 0) stack.splice(i, 1);
    stack.unshift(page);
    return i >= 0 ? i + 1 : Infinity;
  });
}

/** Miss ratio of an LRU cache of `sizePages` pages, simulated as an array list. */
export function bruteForceMissRatio(pages: readonly number[], sizePages: number): number {
  const cache: number[] = []; // cache[0] is the most recently used page
  let misses = 0;
  for (const page of pages) {
    const i = cache.indexOf(page);
    if (i >= 0) cache.splice(i, 1);
    else {
      misses++;
      if (cache.length === sizePages) cache.pop();
    }
    cache.unshift(page);
  }
  return misses / pages.length;
}
