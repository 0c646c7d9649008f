import { describe, expect, it } from 'vitest';
import { chooseLogDestination, destinationUrl, digestAdler32, parseDestination } from '../../pilot/src/transfer/index.js';

const none = { flag: undefined, copytools: undefined, harvesterAccessPoint: undefined };

describe('chooseLogDestination', () => {
  it('push mode leaves the log for Harvester, whatever else is configured', () => {
    expect(chooseLogDestination({ ...none, flag: '/shared/logs', harvesterAccessPoint: '/ap/w1' })).toEqual({ kind: 'access-point', dir: '/ap/w1' });
  });
  it('the flag wins over the queue data, which wins over nothing', () => {
    const copytools = { rucio: {}, webdav: { log_destination: 'davs://dcache.example.org:2880/rubin/logs/' } };
    expect(chooseLogDestination({ ...none, flag: 'file:///shared/logs', copytools })).toEqual({ kind: 'directory', dir: '/shared/logs', from: 'flag' });
    expect(chooseLogDestination({ ...none, copytools })).toEqual({ kind: 'webdav', baseUrl: 'https://dcache.example.org:2880/rubin/logs', from: 'queue data' });
    expect(chooseLogDestination({ ...none, copytools: { rucio: {} } })).toEqual({ kind: 'none' });
  });
  it('refuses what it cannot use, naming it', () => {
    expect(() => parseDestination('s3://bucket/logs', 'flag')).toThrow(/scheme s3: is not supported/);
    expect(() => parseDestination('relative/dir', 'flag')).toThrow(/neither an absolute directory nor a URL/);
    expect(() => parseDestination('https://user:pw@host/logs', 'flag')).toThrow(/must not carry credentials/);
    expect(() => parseDestination('file://otherhost/logs', 'flag')).toThrow(/names a host/);
  });
  it('gives the surl the output report carries', () => {
    expect(destinationUrl(parseDestination('http://127.0.0.1:8080/storage/logs', 'flag'), 'a b.log.tgz')).toBe(
      'http://127.0.0.1:8080/storage/logs/a%20b.log.tgz',
    );
    expect(destinationUrl(parseDestination('/shared/logs/', 'flag'), 'x.log.tgz')).toBe('file:///shared/logs/x.log.tgz');
    expect(destinationUrl({ kind: 'access-point', dir: '/ap' }, 'x')).toBeNull();
  });
});

describe('digestAdler32', () => {
  it('reads the adler32 among other digests, and nothing else', () => {
    expect(digestAdler32('md5=HUXZLQLMuI/KZ5KDcJPcOA==, adler32=0a1B2c3d')).toBe('0a1b2c3d');
    expect(digestAdler32('ADLER32=1f')).toBe('0000001f');
    expect(digestAdler32('md5=abc')).toBeNull();
    expect(digestAdler32(undefined)).toBeNull();
    expect(digestAdler32('adler32=nothex')).toBeNull();
  });
});
