/** `panda-pilot release verify DIR`: exit 0 when the tree matches its manifest, 1 with a list of differences, 2 when there is nothing to check. */
import { formatVerify, verifyTree } from '../release/index.js';

export async function releaseVerify(dir: string, out: NodeJS.WritableStream): Promise<number> {
  const r = await verifyTree(dir);
  out.write(formatVerify(r));
  if (r.errors.length) return 2;
  return r.ok ? 0 : 1;
}
