/** Site proxy rules (curl's), the token's allowed routes, and what a payload inherits. */
import { describe, expect, it } from 'vitest';
import { noProxyMatch, proxyFor, redactProxy, tokenRouteProblem, type TokenSource } from '../../pilot/src/server/index.js';
import { withoutCredentials } from '../../pilot/src/lifecycle/index.js';

const via = (url: string, env: NodeJS.ProcessEnv): string => {
  const v = proxyFor(new URL(url), env);
  return v.route === 'proxy' ? `${v.proxy.host} ${v.variable}` : `direct: ${v.reason}`;
};

describe('proxyFor', () => {
  it("picks the scheme's variable, lower case first, then all_proxy", () => {
    expect(via('https://panda.cern.ch:25443/x', { HTTPS_PROXY: 'squid:3128' })).toBe('squid:3128 HTTPS_PROXY');
    expect(via('https://panda.cern.ch/x', { HTTPS_PROXY: 'http://upper:1', https_proxy: 'http://lower:2' })).toBe('lower:2 https_proxy');
    expect(via('http://panda.cern.ch/x', { HTTPS_PROXY: 'http://s:1' })).toMatch(/^direct: no http_proxy set/);
    expect(via('http://panda.cern.ch/x', { HTTP_PROXY: 'http://s:1' })).toBe('s:1 HTTP_PROXY');
    expect(via('http://panda.cern.ch/x', { ALL_PROXY: 'http://all:9' })).toBe('all:9 ALL_PROXY');
    expect(via('http://panda.cern.ch/x', {})).toMatch(/^direct/);
  });

  it('NO_PROXY exempts hosts, domains, ports, addresses and CIDR blocks', () => {
    const env = {
      https_proxy: 'http://squid:3128',
      http_proxy: 'http://squid:3128',
      NO_PROXY: 'localhost, .slac.stanford.edu,in2p3.fr ,*.ral.ac.uk, panda.cern.ch:8443, 10.0.0.0/8, [::1], 192.168.1.5, fd00::/8',
    };
    expect(via('https://rubin.slac.stanford.edu/x', env)).toMatch(/^direct: NO_PROXY has \.slac\.stanford\.edu/);
    expect(via('https://slac.stanford.edu/x', env)).toMatch(/^direct/);
    expect(via('https://notslac.stanford.edu/x', env)).toBe('squid:3128 https_proxy');
    expect(via('https://cc.in2p3.fr/x', env)).toMatch(/^direct/);
    expect(via('https://in2p3.fr.evil.org/x', env)).toBe('squid:3128 https_proxy');
    expect(via('https://lcg.ral.ac.uk/x', env)).toMatch(/^direct/);
    expect(via('https://panda.cern.ch:8443/x', env)).toMatch(/^direct: NO_PROXY has panda\.cern\.ch:8443/);
    expect(via('https://panda.cern.ch/x', env)).toBe('squid:3128 https_proxy');
    expect(via('http://10.2.3.4:25080/x', env)).toMatch(/^direct: NO_PROXY has 10\.0\.0\.0\/8/);
    expect(via('http://11.2.3.4/x', env)).toBe('squid:3128 http_proxy');
    expect(via('http://[::1]:25080/x', env)).toMatch(/^direct/);
    expect(via('http://[fd12::5]/x', env)).toMatch(/^direct: NO_PROXY has fd00::\/8/);
    expect(via('http://192.168.1.5/x', env)).toMatch(/^direct/);
    expect(via('http://192.168.1.6/x', env)).toBe('squid:3128 http_proxy');
    expect(via('http://localhost:1/x', env)).toMatch(/^direct/);
    expect(via('http://127.0.0.1:1/x', env)).toBe('squid:3128 http_proxy');
    expect(via('https://anything/x', { https_proxy: 'http://s:1', no_proxy: '*' })).toMatch(/^direct: no_proxy has \*/);
    // lower case no_proxy wins over NO_PROXY
    expect(via('https://a.org/x', { https_proxy: 'http://s:1', no_proxy: 'b.org', NO_PROXY: 'a.org' })).toBe('s:1 https_proxy');
  });

  it('refuses proxy URLs it cannot use, and never shows a password', () => {
    expect(() => proxyFor(new URL('https://a.org'), { https_proxy: 'socks5://s:1080' })).toThrow(/only http:\/\/ and https:\/\/ proxies/);
    const v = proxyFor(new URL('https://a.org'), { https_proxy: 'http://user:secret-pw@squid.site:3128' });
    expect(v.route === 'proxy' && redactProxy(v.proxy)).toBe('http://squid.site:3128');
    expect(noProxyMatch('', 'a.org', 443)).toBeNull();
  });
});

describe('tokenRouteProblem', () => {
  const token: TokenSource = { describe: 'PANDA_AUTH_ID_TOKEN', file: null, read: () => 'x' };
  it('allows https and loopback, refuses plain http elsewhere, saying why', () => {
    expect(tokenRouteProblem('https://panda.cern.ch:25443', token)).toBeNull();
    expect(tokenRouteProblem('http://127.0.0.1:25080', token)).toBeNull();
    expect(tokenRouteProblem('http://127.3.4.5:25080', token)).toBeNull();
    expect(tokenRouteProblem('http://[::1]:25080', token)).toBeNull();
    expect(tokenRouteProblem('http://localhost:25080', token)).toBeNull();
    expect(tokenRouteProblem('http://panda.cern.ch:25080', token)).toMatch(
      /refusing to send the bearer token \(PANDA_AUTH_ID_TOKEN\) over plain http to panda\.cern\.ch:25080/,
    );
    expect(tokenRouteProblem('http://10.1.1.1', token)).toMatch(/https/);
    expect(tokenRouteProblem('http://panda.cern.ch:25080', null)).toBeNull();
  });
});

describe('withoutCredentials', () => {
  const env = {
    PATH: '/bin',
    PANDA_AUTH_ID_TOKEN: 't',
    OIDC_AUTH_DIR: '/d',
    OIDC_AUTH_TOKEN: 'f',
    X509_USER_PROXY: '/tmp/x',
    X509_CERT_DIR: '/etc/grid-security/certificates',
  };
  it('drops token and X.509 variables unless their kind is kept', () => {
    expect(withoutCredentials(env, [])).toEqual({ PATH: '/bin', X509_CERT_DIR: '/etc/grid-security/certificates' });
    expect(withoutCredentials(env, ['x509'])).toEqual({ PATH: '/bin', X509_USER_PROXY: '/tmp/x', X509_CERT_DIR: '/etc/grid-security/certificates' });
    expect(Object.keys(withoutCredentials(env, ['token', 'x509'])).sort()).toEqual(Object.keys(env).sort());
  });
});
