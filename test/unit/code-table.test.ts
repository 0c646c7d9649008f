import { describe, expect, it } from 'vitest';
import { errorCodeName, eventRangeStatusName } from '../../pilot/src/protocol/index.js';

describe('protocol code tables read backwards', () => {
  it('names a known code and nothing else', () => {
    expect(errorCodeName(1212)).toBe('PAYLOADOUTOFMEMORY');
    expect(errorCodeName(1364)).toBe('MISSINGCREDENTIALS');
    expect(errorCodeName(4242)).toBeUndefined();
    expect(eventRangeStatusName(7)).toBe('failed');
    expect(eventRangeStatusName(0)).toBe('ready');
    expect(eventRangeStatusName(99)).toBe('unknown');
  });
});
