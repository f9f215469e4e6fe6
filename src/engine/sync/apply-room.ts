/**
 * A write that fails for space gets one more try after room was made (the
 * archive gives up its oldest versions: archive-keeper.ts), so old versions
 * never block new data. Any other error, or no room made, is the caller's
 * (the puller parks the path with it).
 */

/** The error codes that mean "the disk (or the user's quota) is full". */
const NO_SPACE_CODES = new Set(['ENOSPC', 'EDQUOT']);

/** True for a full disk or quota, also when wrapped as another error's cause. */
export function isNoSpace(err: unknown): boolean {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NO_SPACE_CODES.has(code)) return true;
  }
  return false;
}

/** Runs `op`; on a full disk asks `makeRoom` and, if it made room, runs `op` once more. */
export async function retryAfterMakingRoom<T>(op: () => Promise<T>, makeRoom: (() => Promise<boolean>) | undefined): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (makeRoom === undefined || !isNoSpace(err) || !(await makeRoom())) throw err;
    return op();
  }
}
