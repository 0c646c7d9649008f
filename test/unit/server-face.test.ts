/**
 * server/index.ts is the server's own public face: error classes are errors/'s
 * (below every folder, so monitor/, report/ and eventservice/ never need server/),
 * and the interfaces the dialects implement are protocol/'s.
 */
import { describe, expect, it } from 'vitest';
import * as errors from '../../pilot/src/errors/index.js';
import * as server from '../../pilot/src/server/index.js';

describe('server/index.ts', () => {
  it("re-exports none of errors/'s classes; errors/ has them", () => {
    const errorClasses = ['TransportError', 'HttpStatusError', 'ProtocolError', 'ReplyTooLargeError', 'isRetryable', 'PilotError'];
    expect(Object.keys(server).filter((name) => errorClasses.includes(name))).toEqual([]);
    for (const name of errorClasses) expect(Object.keys(errors), name).toContain(name);
  });
});
