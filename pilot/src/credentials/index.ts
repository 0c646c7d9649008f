export { jwtClaims, tokenVerdict, type TokenClaims, type TokenFacts, type CredentialVerdict } from './token-check.js';
export { readX509Facts, x509Verdict, X509_CODES, type X509Facts } from './x509-check.js';
