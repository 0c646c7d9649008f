/** The environment a payload sees, as pilot3 sets it up for Rubin jobs. */
import type { JobDescription } from '../job/index.js';

export interface PayloadEnvInput {
  job: JobDescription;
  base: NodeJS.ProcessEnv;
  serverUrl: string;
  siteName: string;
  jobDir: string;
  cores: number;
}

/** Variables the pilot keeps for itself and a payload has no business seeing. */
const PILOT_PRIVATE = [/^PANDA_PILOT_INTERNAL_/];

/**
 * The pilot's credentials, by kind: what a payload does not inherit unless the
 * site lists the kind in `--payload-credentials` (documented in README.md).
 */
export const CREDENTIAL_VARIABLES = {
  token: [
    'PANDA_AUTH_ID_TOKEN',
    'PANDA_AUTH_TOKEN',
    'PANDA_AUTH_DIR',
    'PANDA_AUTH_ORIGIN',
    'PANDA_AUTH_REFRESH_TOKEN_FILE',
    'PANDA_AUTH_TOKEN_ENDPOINT',
    'PANDA_AUTH_CLIENT_ID',
    'OIDC_AUTH_TOKEN_FILE',
    'OIDC_AUTH_ID_TOKEN',
    'OIDC_AUTH_DIR',
    'OIDC_AUTH_TOKEN',
    'OIDC_AUTH_ORIGIN',
    'BEARER_TOKEN',
    'BEARER_TOKEN_FILE',
  ],
  x509: ['X509_USER_PROXY', 'X509_USER_CERT', 'X509_USER_KEY'],
} as const;

export type CredentialKind = keyof typeof CREDENTIAL_VARIABLES;

/** `env` without the credential variables of the kinds not in `keep`. */
export function withoutCredentials(env: NodeJS.ProcessEnv, keep: readonly CredentialKind[]): NodeJS.ProcessEnv {
  const drop = new Set<string>();
  for (const kind of Object.keys(CREDENTIAL_VARIABLES) as CredentialKind[])
    if (!keep.includes(kind)) for (const name of CREDENTIAL_VARIABLES[kind]) drop.add(name);
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (!drop.has(k)) out[k] = v;
  return out;
}

export function payloadEnv({ job, base, serverUrl, siteName, jobDir, cores }: PayloadEnvInput): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) if (!PILOT_PRIVATE.some((re) => re.test(k))) env[k] = v;
  return {
    ...env,
    PANDA_SERVER_URL: serverUrl,
    PandaID: String(job.pandaId),
    PanDA_TaskID: job.taskId === null ? '' : String(job.taskId),
    PANDA_RESOURCE: siteName,
    PANDA_JOBSETID: job.jobsetId === null ? '' : String(job.jobsetId),
    PANDA_ATTEMPT_NR: String(job.attemptNr),
    ATHENA_PROC_NUMBER: String(cores),
    ATHENA_CORE_NUMBER: String(cores),
    RUBIN_ES_CORES: base.RUBIN_ES_CORES ?? String(cores),
    PILOT_JOB_DIR: jobDir,
    HOME: base.HOME ?? jobDir,
  };
}
