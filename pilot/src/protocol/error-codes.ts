/**
 * PanDA pilot error codes (docs/panda-protocol.md §6). The numbers are the contract with
 * the server's retry rules and monitoring: never renumber.
 */
import { nameOfCode } from './code-table.js';

export const ErrorCode = {
  GENERALERROR: 1008,
  NOLOCALSPACE: 1098,
  STAGEINFAILED: 1099,
  STDOUTTOOBIG: 1106,
  STAGEOUTFAILED: 1137,
  PANDAKILL: 1144,
  TRFDOWNLOADFAILURE: 1149,
  LOOPINGJOB: 1150,
  STAGEOUTTIMEOUT: 1152,
  NOPROXY: 1163,
  KILLSIGNAL: 1200,
  SIGTERM: 1201,
  SIGQUIT: 1202,
  SIGSEGV: 1203,
  SIGXCPU: 1204,
  SIGBUS: 1206,
  SIGUSR1: 1207,
  SIGINT: 1208,
  PAYLOADOUTOFMEMORY: 1212,
  REACHEDMAXTIME: 1213,
  UNKNOWNPAYLOADFAILURE: 1220,
  ESRECOVERABLE: 1224,
  ESFATAL: 1228,
  PAYLOADEXCEEDMAXMEM: 1235,
  FAILEDBYSERVER: 1236,
  ESNOEVENTS: 1238,
  NOUSERTARBALL: 1246,
  PAYLOADEXECUTIONFAILURE: 1305,
  COMMUNICATIONFAILURE: 1318,
  INTERNALPILOTPROBLEM: 1319,
  LOGFILECREATIONFAILURE: 1320,
  BADQUEUECONFIGURATION: 1341,
  TRANSFORMNOTFOUND: 1346,
  MISSINGCREDENTIALS: 1364,
  CERTIFICATEHASEXPIRED: 1373,
  PREEMPTION: 1379,
  PROXYTOOSHORT: 1382,
} as const;

export type ErrorCodeName = keyof typeof ErrorCode;
export type PandaErrorCode = (typeof ErrorCode)[ErrorCodeName];

const codeName = nameOfCode(ErrorCode);

/** The symbolic name of a code, or undefined for a number we do not know. */
export function errorCodeName(code: number): ErrorCodeName | undefined {
  return codeName(code);
}

/** Signal received by the pilot → the code its final update carries. */
export const SIGNAL_ERROR_CODE: Readonly<Record<string, PandaErrorCode>> = {
  SIGTERM: ErrorCode.SIGTERM,
  SIGQUIT: ErrorCode.SIGQUIT,
  SIGSEGV: ErrorCode.SIGSEGV,
  SIGXCPU: ErrorCode.SIGXCPU,
  SIGBUS: ErrorCode.SIGBUS,
  SIGUSR1: ErrorCode.SIGUSR1,
  SIGINT: ErrorCode.SIGINT,
};
