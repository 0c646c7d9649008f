export { digestFile, formatManifest, hashTree, listTree, MANIFEST_FILE, parseManifest, sha256File, type Manifest, type TreeListing } from './manifest.js';
export { diffManifest, formatVerify, resolveTree, verifyTree, type TreeDiff, type VerifyResult } from './verify.js';
