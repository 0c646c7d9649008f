// Bad on purpose: a.ts and b.ts import each other (a cycle).
import { b } from './b.js';
export const a = (): number => b() + 1;
