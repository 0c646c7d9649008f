/**
 * Finds the memory cgroup the pilot runs in, for cgroup v1 and v2, from
 * /proc/self/cgroup and /proc/self/mountinfo. Parsing is pure; the one
 * function that touches the file system takes a root prefix so tests can
 * point it at a fake /sys tree.
 */
import { accessSync, constants as fsConstants, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export type CgroupVersion = 1 | 2;

/** Where the memory controller of one cgroup lives on disk. */
export interface CgroupLocation {
  version: CgroupVersion;
  /** Absolute directory of the cgroup (under `fsRoot` in tests). */
  dir: string;
  /** The cgroup's path inside its hierarchy, as /proc/self/cgroup names it. */
  cgroupPath: string;
}

/** One line of /proc/<pid>/cgroup: `hierarchy-id:controllers:path` (v2: `0::path`). */
export interface ProcCgroupEntry {
  hierarchyId: number;
  controllers: string[];
  path: string;
}

/** The fields of a mountinfo line that matter for cgroups. */
export interface MountEntry {
  /** Root of the mount inside its file system (a cgroup path for cgroup mounts). */
  root: string;
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

export function parseProcCgroup(text: string): ProcCgroupEntry[] {
  const out: ProcCgroupEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    out.push({ hierarchyId: Number(m[1]), controllers: m[2] ? m[2].split(',') : [], path: m[3] ?? '/' });
  }
  return out;
}

/** mountinfo escapes spaces and such as \040 octal. */
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    // ID parent major:minor root mountpoint options [optional fields…] - fstype source superoptions
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const left = line.slice(0, dash).split(' ');
    const right = line.slice(dash + 3).split(' ');
    if (left.length < 5 || right.length < 3) continue;
    out.push({
      root: unescape(left[3] ?? '/'),
      mountPoint: unescape(left[4] ?? ''),
      fsType: right[0] ?? '',
      superOptions: (right[2] ?? '').split(','),
    });
  }
  return out;
}

/**
 * The directory of `cgroupPath` under a mount whose root is `mountRoot`.
 * With a cgroup namespace the path is already relative to the mount root;
 * without one it starts with it.
 */
export function cgroupDir(mount: MountEntry, cgroupPath: string): string {
  const root = mount.root === '/' ? '' : mount.root;
  const rel = root && (cgroupPath === root || cgroupPath.startsWith(`${root}/`)) ? cgroupPath.slice(root.length) : cgroupPath;
  const dir = path.join(mount.mountPoint, rel);
  return dir.length > 1 ? dir.replace(/\/+$/, '') : dir;
}

export interface DiscoverOptions {
  /** Prefix for every file read (fixture trees); '' on a real system. */
  fsRoot?: string;
  procCgroup?: string;
  mountInfo?: string;
}

/**
 * The pilot's memory cgroup: the v1 `memory` hierarchy when mounted, else
 * the v2 unified hierarchy when its memory controller is enabled there.
 * Null when neither holds memory figures (then only the process tree is watched).
 */
export function discoverMemoryCgroup(opts: DiscoverOptions = {}): CgroupLocation | null {
  const fsRoot = opts.fsRoot ?? '';
  const read = (f: string): string => {
    try {
      return readFileSync(path.join(fsRoot, f), 'utf8');
    } catch {
      return '';
    }
  };
  const entries = parseProcCgroup(opts.procCgroup ?? read('/proc/self/cgroup'));
  const mounts = parseMountInfo(opts.mountInfo ?? read('/proc/self/mountinfo'));

  const v1 = entries.find((e) => e.hierarchyId !== 0 && e.controllers.includes('memory'));
  const v1Mount = mounts.find((m) => m.fsType === 'cgroup' && m.superOptions.includes('memory'));
  if (v1 && v1Mount) {
    const dir = path.join(fsRoot, cgroupDir(v1Mount, v1.path));
    if (existsSync(path.join(dir, 'memory.usage_in_bytes'))) return { version: 1, dir, cgroupPath: v1.path };
  }
  const v2 = entries.find((e) => e.hierarchyId === 0);
  const v2Mount = mounts.find((m) => m.fsType === 'cgroup2');
  if (v2 && v2Mount) {
    const dir = path.join(fsRoot, cgroupDir(v2Mount, v2.path));
    // The root cgroup has no memory.current, yet its children get one when the controller is available.
    const controllers = read(path.join(cgroupDir(v2Mount, v2.path), 'cgroup.controllers')).split(/\s+/);
    if (existsSync(path.join(dir, 'memory.current')) || controllers.includes('memory')) return { version: 2, dir, cgroupPath: v2.path };
  }
  return null;
}

/**
 * Whether this process may create child cgroups under `loc` (root, or a
 * delegated cgroup). On v2 a delegation is the directory plus its
 * `cgroup.procs` and `cgroup.subtree_control` (systemd's `Delegate=yes`
 * chowns exactly those): without the latter the memory controller cannot be
 * switched on for the payloads, and every payload cgroup would be refused.
 */
export function canCreateChildren(loc: CgroupLocation): boolean {
  const files = loc.version === 2 ? ['cgroup.procs', 'cgroup.subtree_control'] : ['cgroup.procs'];
  try {
    accessSync(loc.dir, fsConstants.W_OK);
    for (const f of files) accessSync(path.join(loc.dir, f), fsConstants.W_OK);
    return true;
  } catch {
    return false;
  }
}
