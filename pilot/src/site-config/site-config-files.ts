/**
 * Reading site configuration from disk: files and directories of JSON
 * documents, and finding the repository's (or a release tree's) site-config
 * directory from where a program runs.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, type ConfigIssue } from '../config/index.js';
import { parseConfigText, type ConfigDocument } from './config-documents.js';
import { buildCatalog, type SiteCatalog } from './site-catalog.js';

/** Every `*.json` under `dir`, sorted, so loading order (and duplicate reports) is stable. */
function jsonFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && !entry.name.startsWith('.') && entry.name !== 'node_modules') out.push(...jsonFilesUnder(full));
    else if (entry.isFile() && entry.name.endsWith('.json')) out.push(full);
  }
  return out;
}

/** Reads and parses files (a directory stands for every JSON file under it). */
export function readConfigPaths(paths: readonly string[]): { docs: ConfigDocument[]; issues: ConfigIssue[] } {
  const docs: ConfigDocument[] = [];
  const issues: ConfigIssue[] = [];
  for (const p of paths) {
    let files: string[];
    try {
      files = statSync(p).isDirectory() ? jsonFilesUnder(p) : [p];
    } catch (err) {
      issues.push({ file: p, field: '(file)', problem: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
      continue;
    }
    if (files.length === 0) issues.push({ file: p, field: '(file)', problem: 'no *.json files in this directory' });
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        issues.push({ file, field: '(file)', problem: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
        continue;
      }
      const r = parseConfigText(file, text);
      if (r.ok) docs.push(r.doc);
      else issues.push(...r.issues);
    }
  }
  return { docs, issues };
}

/** Loads a site-config directory into a catalog; throws a ConfigError naming every problem. */
export function loadSiteCatalog(dir: string): SiteCatalog {
  const { docs, issues } = readConfigPaths([dir]);
  const built = buildCatalog(docs);
  const all = [...issues, ...built.issues];
  if (all.length) throw new ConfigError(all);
  return built.catalog;
}

/** Where a site-config directory sits relative to a repository root or a release tree. */
const CANDIDATES = ['site-config', path.join('config', 'site-config')];

/** The marker that tells a site-config directory from any folder of that name. */
const MARKER = 'resource-types.json';

/**
 * The nearest site-config directory at or above any of `starts` (tried in
 * order): `<dir>/site-config` in a checkout, `<dir>/config/site-config` in a
 * release tree. Undefined when there is none.
 */
export function findSiteConfigDir(starts: readonly string[]): string | undefined {
  for (const start of starts) {
    let dir = path.resolve(start);
    for (;;) {
      for (const c of CANDIDATES) {
        const candidate = path.join(dir, c);
        if (existsSync(path.join(candidate, MARKER))) return candidate;
      }
      const up = path.dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return undefined;
}
